import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress, opsProxy, trc } from '../../semconv/index.ts';
import type { ContractSpec, LabelSpec } from '../../semconv/types.ts';
import { createCheck } from './check.ts';
import { rawPathReason } from './rules/index.ts';
import { check, firstSeries, writeExposition, type CheckOutcome } from './test/written.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'otel-contracts-check-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes the exposition to a file and checks that file (the file target path). */
async function checkFile(text: string, contract = 'trc'): Promise<CheckOutcome> {
  const file = join(dir, `exposition-${Math.random().toString(36).slice(2)}.txt`);
  await writeFile(file, text);
  return check(undefined, { target: file, contract });
}

/** Asserts exit 1 with exactly one violation, of `rule`, and returns it. */
function onlyViolation(out: CheckOutcome, rule: string) {
  expect(out.stderr).toBe('');
  expect(out.code).toBe(1);
  expect(out.json.ok).toBe(false);
  expect(out.json.violations.map((v) => v.rule)).toEqual([rule]);
  return out.json.violations[0]!;
}

describe('a clean written exposition', () => {
  it.each([trc, egress, opsProxy])('of $id passes with exit 0', async (contract: ContractSpec) => {
    const out = await checkFile(writeExposition(contract), contract.id);
    expect(out.json.violations).toEqual([]);
    expect(out.code).toBe(0);
    expect(out.json.ok).toBe(true);
  });
});

describe('one written exposition per family and label-key rule, each breaking it once', () => {
  // Was `family_missing`: an exposition cannot tell a family never implemented from one a client leaves
  // out until its first event, so absence is reported as not observed (still a violation).
  it('family_not_observed: a required family is not exposed', async () => {
    const out = await checkFile(writeExposition(trc, (f) => f.delete('trc_scheduler_unschedulable_total')));
    expect(onlyViolation(out, 'family_not_observed')).toMatchObject({
      contract: 'trc',
      family: 'trc_scheduler_unschedulable_total',
      message: expect.stringContaining('labelled: a client may leave it out until its first event'),
      cite: { document: '002_319d91f4cc02c0ce.txt', sections: ['D) Scheduler / Placement and actions', 'Compliance tests 1'] },
    });
  });

  it('family_type: a documented gauge exposed as a counter', async () => {
    const out = await checkFile(writeExposition(trc, (f) => (f.get('trc_agent_instances_running')!.type = 'counter')));
    expect(onlyViolation(out, 'family_type')).toMatchObject({ family: 'trc_agent_instances_running', value: 'counter', message: expect.stringContaining('documented gauge') });
  });

  it('family_type: a documented histogram exposed without a TYPE line', async () => {
    const text = writeExposition(trc).replace('# TYPE trc_event_append_duration_seconds histogram\n', '');
    const out = await checkFile(text);
    expect(onlyViolation(out, 'family_type')).toMatchObject({ family: 'trc_event_append_duration_seconds', value: 'untyped' });
  });

  it('family_undocumented: a family under trc_ the contract does not have', async () => {
    const out = await checkFile(
      writeExposition(trc, (f) => f.set('trc_http_request_duration_ms', { name: 'trc_http_request_duration_ms', type: 'gauge', help: 'renamed', series: [{}] })),
    );
    expect(onlyViolation(out, 'family_undocumented')).toMatchObject({ family: 'trc_http_request_duration_ms', value: 'gauge' });
  });

  it('label_missing: a series without its required status label', async () => {
    const out = await checkFile(
      writeExposition(trc, (f) => {
        const s = firstSeries(f, 'trc_http_requests_total');
        delete s.status;
        f.get('trc_http_requests_total')!.series = [s];
      }),
    );
    expect(onlyViolation(out, 'label_missing')).toMatchObject({ family: 'trc_http_requests_total', label: 'status', series: expect.stringContaining('trc_http_requests_total{') });
  });

  it('label_undocumented: a label the family does not document', async () => {
    const out = await checkFile(writeExposition(trc, (f) => f.get('trc_event_append_total')!.series.push({ result: 'failure', region: 'eu-west' })));
    expect(onlyViolation(out, 'label_undocumented')).toMatchObject({ family: 'trc_event_append_total', label: 'region', value: 'eu-west' });
  });

  // One node_id value throughout (was node-7 and edge-2 beside the written test-instance): a target is one
  // instance, and node_id now has a budget of one value per target (a budget for every open-ended label).
  it('node_id (seed 002 allowed bounded label, from TRC_NODE_ID) passes on agent and edge families and is flagged elsewhere', async () => {
    const out = await checkFile(
      writeExposition(trc, (f) => {
        f.get('trc_agent_instance_failures_total')!.series = [{ node_id: 'test-instance', reason: 'oom_killed' }];
        f.get('trc_edge_config_apply_total')!.series = [{ node_id: 'test-instance', result: 'error' }];
        f.get('trc_http_requests_total')!.series.push({ ...firstSeries(f, 'trc_http_requests_total'), node_id: 'node-7' });
      }),
    );
    expect(onlyViolation(out, 'label_undocumented')).toMatchObject({ family: 'trc_http_requests_total', label: 'node_id', value: 'node-7' });
  });

  it('cardinality: an instance label with more values than one target has (node_id on two nodes)', async () => {
    const out = await checkFile(writeExposition(trc, (f) => f.get('trc_agent_heartbeat_total')!.series.push({ node_id: 'node-7', result: 'success' })));
    expect(onlyViolation(out, 'cardinality')).toMatchObject({
      label: 'node_id',
      value: '2 values',
      families: ['trc_agent_heartbeat_total'],
      message: expect.stringContaining('its budget is 1 per checked target'),
      cite: { document: '002_319d91f4cc02c0ce.txt', sections: ['Label conventions and cardinality rules / Allowed bounded labels (v1)'] },
    });
  });

  it('the alert spec\'s result values pass: failed for backups, error for edge config apply; the old failure is outside the enum', async () => {
    const clean = await checkFile(
      writeExposition(trc, (f) => {
        f.get('trc_agent_backups_total')!.series.push({ result: 'failed' });
        f.get('trc_edge_config_apply_total')!.series.push({ result: 'error' });
      }),
    );
    expect(clean.json.violations).toEqual([]);
    const out = await checkFile(writeExposition(trc, (f) => f.get('trc_agent_backups_total')!.series.push({ result: 'failure' })));
    expect(onlyViolation(out, 'label_value_enum')).toMatchObject({ family: 'trc_agent_backups_total', label: 'result', value: 'failure' });
  });
});

describe('one written exposition per value and budget rule, each breaking it once', () => {
  it('label_forbidden: a forbidden label name (raw hostname)', async () => {
    const out = await checkFile(writeExposition(trc, (f) => f.get('trc_agent_heartbeat_total')!.series.push({ result: 'failure', hostname: 'node-17.internal.example.com' })));
    expect(onlyViolation(out, 'label_forbidden')).toMatchObject({
      family: 'trc_agent_heartbeat_total',
      label: 'hostname',
      value: 'node-17.internal.example.com',
      message: expect.stringContaining('raw_hostname'),
    });
  });

  it('label_forbidden: a forbidden value (an email) under a documented label', async () => {
    const out = await checkFile(writeExposition(trc, (f) => f.get('trc_commands_total')!.series.push({ command: 'alice@example.com', result: 'success' })));
    expect(onlyViolation(out, 'label_forbidden')).toMatchObject({ family: 'trc_commands_total', label: 'command', value: 'alice@example.com', message: expect.stringContaining('user_identity') });
  });

  it('label_value_enum: a status outside its enum', async () => {
    const out = await checkFile(writeExposition(trc, (f) => f.get('trc_http_requests_total')!.series.push({ method: 'GET', path_template: '/healthz', status: '299' })));
    expect(onlyViolation(out, 'label_value_enum')).toMatchObject({ family: 'trc_http_requests_total', label: 'status', value: '299' });
  });

  it('reason_enum: a scheduler unschedulable reason not in the spec list', async () => {
    const out = await checkFile(writeExposition(trc, (f) => f.get('trc_scheduler_unschedulable_total')!.series.push({ reason: 'no_capacity_cpu' })));
    expect(onlyViolation(out, 'reason_enum')).toMatchObject({
      family: 'trc_scheduler_unschedulable_total',
      label: 'reason',
      value: 'no_capacity_cpu',
      message: expect.stringContaining('no_capacity_memory, no_nodes_active, volume_locality_no_node, ipam_exhausted, secrets_missing, org_quota_exceeded'),
    });
  });

  it('reason_enum: an agent failure reason not in the spec list', async () => {
    const out = await checkFile(writeExposition(trc, (f) => f.get('trc_agent_instance_failures_total')!.series.push({ reason: 'kernel_panic' })));
    expect(onlyViolation(out, 'reason_enum')).toMatchObject({ family: 'trc_agent_instance_failures_total', label: 'reason', value: 'kernel_panic' });
  });

  it('path_template_raw: a raw path with a numeric id', async () => {
    const out = await checkFile(writeExposition(trc, (f) => f.get('trc_http_requests_total')!.series.push({ method: 'GET', path_template: '/v1/orgs/4242/apps', status: '200' })));
    expect(onlyViolation(out, 'path_template_raw')).toMatchObject({
      family: 'trc_http_requests_total',
      label: 'path_template',
      value: '/v1/orgs/4242/apps',
      message: expect.stringContaining('numeric id segment "4242"'),
    });
    // The table quotes the offending value.
    const table = await check(writeExposition(trc, (f) => f.get('trc_http_requests_total')!.series.push({ method: 'GET', path_template: '/v1/orgs/4242/apps', status: '200' })), { json: false });
    expect(table.code).toBe(1);
    expect(table.stdout).toContain('"/v1/orgs/4242/apps"');
  });

  // Was two findings (17 series, and 17+ mounts): one drift, the mounts; the family's series budget is
  // reported only when no single label explains the excess.
  it('cardinality: more mounts than the label limit is one finding, not again against the family budget', async () => {
    const out = await checkFile(
      writeExposition(trc, (f) => {
        f.get('trc_agent_disk_free_bytes')!.series = Array.from({ length: 17 }, (_, i) => ({ mount: `/mnt/disk${String.fromCharCode(97 + i)}` }));
      }),
    );
    expect(out.code).toBe(1);
    expect(out.json.violations.map((v) => [v.rule, v.family, v.label ?? '-', v.value])).toEqual([['cardinality', 'trc_agent_disk_free_bytes', 'mount', '17+ values']]);
  });

  it('cardinality: a wrong reason is counted once, as reason_enum, not again against the series budget', async () => {
    const out = await checkFile(
      writeExposition(trc, (f) => {
        const fam = f.get('trc_agent_instance_failures_total')!;
        const reasons: readonly string[] = (trc.families.find((x) => x.name === fam.name)?.labels[0] as LabelSpec).values ?? [];
        fam.series = [...reasons.map((reason) => ({ node_id: 'test-instance', reason })), { node_id: 'test-instance', reason: 'kernel_panic' }];
      }),
    );
    expect(onlyViolation(out, 'reason_enum')).toMatchObject({ family: 'trc_agent_instance_failures_total', value: 'kernel_panic' });
  });

  it('cardinality: the series budget alone, on a small contract', () => {
    const tiny: ContractSpec = {
      id: 'tiny',
      seed: 'none',
      brief: 'test',
      prefix: 'tiny_',
      instanceLabels: [],
      forbiddenLabels: [],
      families: [{ name: 'tiny_total', instrument: 'counter', type: 'counter', unit: '1', help: 'h', section: 's', labels: [{ name: 'k', brief: 'k', required: true, values: ['a', 'b', 'c'] }], maxSeries: 2 }],
    };
    const run = createCheck([tiny]);
    run.sink.family('tiny_total', { type: 'counter' }, { line: 1 });
    for (const v of ['a', 'b', 'c', 'a']) run.sink.series('tiny_total', [['k', v]], { line: 2 });
    const result = run.finish();
    expect(result.violations.map((v) => [v.rule, v.value])).toEqual([['cardinality', '3 series']]);
  });
});

describe('an exposition that breaks the trc rules', () => {
  it('exits 1 naming each violation and its offending value, in the table and in JSON', async () => {
    const text = writeExposition(trc, (f) => {
      f.delete('trc_projection_lag_events');
      f.get('trc_http_requests_total')!.series.push(
        { method: 'GET', path_template: '/v1/apps/3f2b8c1e-9d4a-4b7e-a1c2-0e5f6a7b8c9d', status: '200' },
        { method: 'GET', path_template: '/v1/search?q=secret', status: '200' },
      );
      f.get('trc_scheduler_unschedulable_total')!.series.push({ reason: 'no_capacity_cpu' });
      f.get('trc_agent_instance_failures_total')!.series.push({ reason: 'kernel_panic' });
      f.get('trc_edge_config_apply_total')!.series.push({ result: 'error', error_message: 'connection reset by peer' });
      f.get('trc_agent_heartbeat_total')!.series.push({ result: 'success', instance_id: 'inst-01HZY3' });
      f.get('trc_idempotency_hits_total')!.series.push({ endpoint: 'POST /v1/deployments', idempotency_key: 'c0ffee-42' });
      f.get('trc_auth_token_mints_total')!.series.push({ ...firstSeries(f, 'trc_auth_token_mints_total'), user_id: 'u-1001' });
      f.get('trc_auth_token_refresh_total')!.series.push({ result: 'success', token: 'Bearer abc.def' });
    });
    const json = await check(text);
    expect(json.code).toBe(1);
    const found = json.json.violations.map((v) => `${v.rule} ${v.family} ${v.label ?? '-'} ${v.value ?? '-'}`);
    // Two raw paths are one drift (raw paths under path_template): one finding listing both values.
    const raw = json.json.violations.find((v) => v.rule === 'path_template_raw');
    expect(raw?.values?.map((x) => x.value)).toEqual(['/v1/apps/3f2b8c1e-9d4a-4b7e-a1c2-0e5f6a7b8c9d', '/v1/search?q=secret']);
    expect(found).toEqual(
      expect.arrayContaining([
        'family_not_observed trc_projection_lag_events - -',
        'path_template_raw trc_http_requests_total path_template /v1/apps/3f2b8c1e-9d4a-4b7e-a1c2-0e5f6a7b8c9d',
        'label_forbidden trc_http_requests_total path_template /v1/search?q=secret',
        'reason_enum trc_scheduler_unschedulable_total reason no_capacity_cpu',
        'reason_enum trc_agent_instance_failures_total reason kernel_panic',
        'label_forbidden trc_edge_config_apply_total error_message connection reset by peer',
        'label_forbidden trc_agent_heartbeat_total instance_id inst-01HZY3',
        'label_forbidden trc_idempotency_hits_total idempotency_key c0ffee-42',
        'label_forbidden trc_auth_token_mints_total user_id u-1001',
        'label_forbidden trc_auth_token_refresh_total token Bearer abc.def',
      ]),
    );
    expect(found).toHaveLength(10);

    const table = await check(text, { json: false });
    expect(table.code).toBe(1);
    for (const s of ['family_not_observed:', 'path_template_raw:', 'reason_enum:', 'label_forbidden:', '"no_capacity_cpu"', '"kernel_panic"', '"connection reset by peer"', '"/v1/search?q=secret"', 'FAIL: 10 violations', 'per 002_319d91f4cc02c0ce.txt: "A) Control plane API / Availability and request metrics", "Compliance tests 2"']) {
      expect(table.stdout).toContain(s);
    }
  });
});

describe('rawPathReason', () => {
  it.each([
    ['/v1/orgs/{org_id}/apps', undefined],
    ['/v1/apps/:id', undefined],
    ['/healthz', undefined],
    ['/v1/users/1234', 'numeric id segment "1234"'],
    ['/v1/apps/3f2b8c1e-9d4a-4b7e-a1c2-0e5f6a7b8c9d', 'UUID segment'],
    ['/v1/blobs/5f1d7c2e9a4b6c3d', 'long hex segment "5f1d7c2e9a4b6c3d"'],
    ['/v1/apps?page=2', 'query string'],
    ['https://api.example.com/v1/apps', 'query string'.replace('query string', 'full URL')],
    ['/v1/objects/01HZY3K8Q2W9ZJ5T7X4M6N0PBR', 'opaque id segment "01HZY3K8Q2W9ZJ5T7X4M6N0PBR"'],
  ])('%s -> %s', (value, reason) => {
    expect(rawPathReason(value)).toBe(reason);
  });
});
