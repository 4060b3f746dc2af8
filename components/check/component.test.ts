/**
 * `check --contract trc --component <name>`: the trc spec's first compliance test is per
 * component, so a trc service is audited for its own sections' families, and every trc rule still
 * applies to whatever it exposes.
 */
import { describe, expect, it } from 'vitest';
import { trc } from '../../semconv/index.ts';
import { check, writeExposition } from './test/written.ts';

/** A clean exposition of the trc families of one component only (the registry's `component` annotation). */
function componentExposition(name: string, edit?: Parameters<typeof writeExposition>[1]): string {
  return writeExposition(trc, (f) => {
    for (const spec of trc.families) if (spec.component !== name) f.delete(spec.name);
    edit?.(f);
  });
}

describe('--component', () => {
  it('edge: an edge exposition (section F) passes; the table names the component', async () => {
    const out = await check(componentExposition('edge'), { component: 'edge' });
    expect(out.json.violations).toEqual([]);
    expect(out.code).toBe(0);
    expect(out.json.contracts).toMatchObject([{ id: 'trc', component: 'edge', required: 12, present: 12 }]);
    const table = await check(componentExposition('edge'), { component: 'edge', json: false });
    expect(table.stdout).toContain('trc (component edge): 12/68 documented families present, 12 required');
  });

  it('without it, the same exposition misses every other component\'s required families (the conditional ones aside)', async () => {
    const out = await check(componentExposition('edge'));
    expect(out.code).toBe(1);
    const missing = out.json.violations.filter((v) => v.rule === 'family_not_observed').map((v) => v.family);
    expect(missing).toHaveLength(68 - 12 - 8); // commands (2), projection rebuilds (1) and agent snapshots and backups (5) are conditional
    expect(missing).not.toContain('trc_commands_total');
  });

  it.each([
    ['control-plane', 'A', 'B'],
    ['projections', 'C'],
    ['scheduler', 'D'],
    ['agent', 'E'],
    ['edge', 'F'],
  ])('%s requires exactly its sections (%s)', async (name, ...letters) => {
    const out = await check(componentExposition('edge', (f) => f.clear()), { component: name, allowUnobserved: true });
    const allowed = (out.json.allowed as { family: string }[]).map((v) => v.family);
    const expected = trc.families.filter((f) => letters.some((l) => f.section.startsWith(`${l})`)) && !['trc_commands_total', 'trc_command_duration_seconds', 'trc_projection_rebuilds_total'].includes(f.name) && !f.section.includes('(if agent executes)'));
    expect(allowed.sort()).toEqual(expected.map((f) => f.name).sort());
  });

  it('every trc rule still applies to the families of other components it exposes', async () => {
    const out = await check(
      componentExposition('edge', (f) => {
        f.set('trc_scheduler_unschedulable_total', { name: 'trc_scheduler_unschedulable_total', type: 'counter', help: 'x', series: [{ reason: 'no_capacity_cpu' }] });
      }),
      { component: 'edge' },
    );
    expect(out.json.violations.map((v) => `${v.rule} ${v.family} ${v.value}`)).toEqual(['reason_enum trc_scheduler_unschedulable_total no_capacity_cpu']);
  });

  it.each([
    [{ contract: 'egress', component: 'edge' }, /--component edge audits one trc component: use it with --contract trc/],
    [{ contract: 'all', component: 'edge' }, /use it with --contract trc/],
    [{ contract: 'trc', component: 'gateway' }, /unknown trc component "gateway": expected one of control-plane, projections, scheduler, agent, edge/],
  ])('bad usage %o exits 2', async (opts, reason) => {
    const out = await check('', opts);
    expect(out.code).toBe(2);
    expect(out.json.error?.reason).toMatch(reason);
  });
});
