/**
 * The generated dashboards, rule files and reference docs: current with the registry, every
 * documented family in a panel whose query fits its type, every query valid PromQL over documented
 * names only, every rule labelled and summarised, and the stack configured to load them.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { componentContracts, type ComponentContractId } from '../../semconv/index.ts';
import type { ContractSpec, FamilySpec } from '../../semconv/types.ts';
import { readsFamily } from './docs.ts';
import { DATASOURCE_VARIABLE, dashboardUid } from './dashboard.ts';
import { layouts } from './layouts/index.ts';
import { staleFiles } from './main.ts';
import { dashboardPath, docPath, REPO_ROOT, rulesPath } from './outputs.ts';
import { expandGrafanaMacros, labelMatchers, metricNames, parsePromQL, thresholdFree } from './promql.ts';
import { JOB_VARIABLE, labelNames } from './queries.ts';
import { grafanaUnit } from './units.ts';

interface Panel {
  type: string;
  title: string;
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { expr: string }[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string }[] };
}
interface RuleFile {
  groups: { name: string; rules: { alert: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
}

const ids = Object.keys(componentContracts) as ComponentContractId[];
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const dashboard = (id: string) => JSON.parse(read(dashboardPath(id))) as Dashboard;
const rules = (id: string) => (parse(read(rulesPath(id))) as RuleFile).groups.flatMap((g) => g.rules);
const queriesOf = (p: Panel) => (p.targets ?? []).map((t) => t.expr);

/** Names a contract's queries may select: its families, and a histogram's `_bucket`, `_sum`, `_count`. */
function documentedNames(contract: ContractSpec): Set<string> {
  return new Set(contract.families.flatMap((f) => (f.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => f.name + s) : [f.name])));
}

/** Whether `expr` shows `family` the way its type asks. */
function fitsType(expr: string, family: FamilySpec): boolean {
  const names = metricNames(expandGrafanaMacros(expr));
  switch (family.type) {
    case 'counter':
      return names.includes(family.name) && expr.includes(`rate(${family.name}`);
    case 'histogram':
      return names.includes(`${family.name}_bucket`) && /^histogram_quantile\(0\.\d+, sum by \(le\b/.test(expr);
    case 'gauge':
      return names.includes(family.name) && !/\b(rate|increase|histogram_quantile)\(/.test(expr);
  }
}

describe('generated dashboards, rules and docs', () => {
  it('are current: the checked-in files are what `npm run gen:dashboards` makes', () => {
    expect(staleFiles(), 'stale generated files; run `npm run gen:dashboards`').toEqual([]);
    const cli = spawnSync(process.execPath, [join(REPO_ROOT, 'otel-config/generate/main.ts'), '--check'], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^checked 20 generated/);
  });

  describe.each(ids)('%s', (id) => {
    const contract: ContractSpec = componentContracts[id];
    const d = dashboard(id);
    const panels = d.panels.filter((p) => p.type !== 'row');

    it('shows every documented family in a panel titled with its name, with a query that fits its type and the registry unit', () => {
      const problems: string[] = [];
      for (const family of contract.families) {
        const panel = panels.find((p) => p.title === family.name);
        if (!panel) {
          problems.push(`${family.name}: no panel`);
          continue;
        }
        const exprs = queriesOf(panel);
        if (!exprs.length || !exprs.every((e) => fitsType(e, family))) problems.push(`${family.name} (${family.type}): queries do not fit: ${exprs.join(' ; ')}`);
        if (panel.fieldConfig?.defaults?.unit !== grafanaUnit(family)) problems.push(`${family.name}: unit ${panel.fieldConfig?.defaults?.unit}, registry says ${grafanaUnit(family)}`);
      }
      expect(problems).toEqual([]);
    });

    it('reads every panel and variable from the Prometheus datasource picked in its first variable, so an import works in any Grafana', () => {
      expect(d.templating.list[0]).toMatchObject({ name: DATASOURCE_VARIABLE, type: 'datasource', query: 'prometheus' });
      const uids = new Set(JSON.stringify(d).match(/"uid":\s*"[^"]*"/g)?.map((m) => m.replace(/^"uid":\s*/, '')));
      uids.delete(JSON.stringify(dashboardUid(contract)));
      expect([...uids]).toEqual([`"\${${DATASOURCE_VARIABLE}}"`]);
    });

    it('offers the job and instance labels as variables, and filters every family on each variable it carries', () => {
      const variables = d.templating.list.filter((v) => v.type === 'query').map((v) => v.name);
      expect(variables[0]).toBe(JOB_VARIABLE);
      for (const l of contract.instanceLabels) expect(variables, `instance label ${l.name}`).toContain(l.name);
      const unfiltered: string[] = [];
      for (const family of contract.families) {
        const carried = [JOB_VARIABLE, ...labelNames(contract, family)].filter((l) => variables.includes(l));
        for (const expr of queriesOf(panels.find((p) => p.title === family.name) ?? { type: '', title: '' })) {
          for (const v of carried) if (!expr.includes(`${v}=~"$${v}"`)) unfiltered.push(`${family.name}: no ${v} filter in ${expr}`);
        }
      }
      expect(unfiltered).toEqual([]);
    });

    it('writes every panel query and alert expression in valid PromQL over documented names only', () => {
      const documented = documentedNames(contract);
      const exprs = [...panels.flatMap(queriesOf).map(expandGrafanaMacros), ...rules(id).map((r) => r.expr)];
      expect(exprs.length).toBeGreaterThan(contract.families.length);
      const undocumented = exprs.flatMap((e) => metricNames(e).filter((n) => !documented.has(n)).map((n) => `${n} in ${e}`));
      expect(undocumented).toEqual([]);
      for (const v of d.templating.list.filter((x) => x.type === 'query')) parsePromQL(v.query.replace(/^label_values\((\w+), \w+\)$/, '$1'));
    });

    it('matches enum labels only on their documented members', () => {
      const exprs = [...panels.flatMap(queriesOf).map(expandGrafanaMacros), ...rules(id).map((r) => r.expr)];
      const wrong: string[] = [];
      for (const m of exprs.flatMap(labelMatchers)) {
        const family = contract.families.find((f) => m.metric === f.name || m.metric.startsWith(`${f.name}_`));
        const values = family?.labels.find((l) => l.name === m.label)?.values;
        if (!values) continue;
        const ok = m.op === '=' || m.op === '!=' ? values.includes(m.value) : values.some((v) => new RegExp(`^(?:${m.value})$`).test(v));
        if (!ok) wrong.push(`${m.metric}{${m.label}${m.op}"${m.value}"}: documented values are ${values.join(', ')}`);
      }
      expect(wrong).toEqual([]);
    });

    it("includes the seed's example queries as panels", () => {
      const titles = panels.map((p) => p.title);
      for (const seed of layouts[id].seedPanels) expect(titles).toContain(seed.title);
      if (id === 'masque-vpn') expect(panels.flatMap(queriesOf)).toContain('histogram_quantile(0.95, rate(masque_vpn_masque_request_duration_seconds_bucket[5m]))');
      if (id === 'podtrace') expect(panels.flatMap(queriesOf)).toContain('sum(rate(podtrace_network_bytes_total[5m])) by (direction)');
    });

    it('gives every alert rule a severity and a summary that names a family its expression reads', () => {
      const problems: string[] = [];
      for (const r of rules(id)) {
        if (!['warning', 'critical'].includes(r.labels?.severity ?? '')) problems.push(`${r.alert}: severity ${r.labels?.severity}`);
        const named = contract.families.filter((f) => (r.annotations?.summary ?? '').includes(f.name));
        if (!named.some((f) => readsFamily(r.expr, f))) problems.push(`${r.alert}: summary "${r.annotations?.summary}" names no family that ${r.expr} reads`);
      }
      expect(problems).toEqual([]);
    });

    it("keeps each alert's query apart from its threshold, so that the live test can evaluate the query alone", () => {
      const byName = new Map(layouts[id].alerts.map((a) => [a.alert, a.query]));
      for (const r of rules(id)) {
        expect(thresholdFree(r.expr), r.alert).toBe(byName.get(r.alert));
        expect(thresholdFree(r.expr), `${r.alert}: no threshold found`).not.toBe(r.expr);
      }
    });

    it('documents every family with its type, unit, labels and an example query', () => {
      const doc = read(docPath(id));
      for (const f of contract.families) {
        const section = doc.split(`### \`${f.name}\``)[1]?.split('\n### ')[0] ?? '';
        expect(section, `${docPath(id)}: no section for ${f.name}`).not.toBe('');
        expect(section).toContain(`- Type: ${f.type}`);
        expect(section).toContain(`- Unit: \`${f.unit}\``);
        for (const l of f.labels) expect(section).toContain(`| \`${l.name}\` |`);
        expect(section).toMatch(/```promql\n.+\n```/);
      }
    });
  });

  it('has Prometheus load every rule file and Grafana provision every dashboard', () => {
    const prometheus = parse(read('otel-config/prometheus.yml')) as { rule_files: string[] };
    expect([...prometheus.rule_files].sort()).toEqual(ids.map((id) => rulesPath(id).replace('otel-config/', '')).sort());
    const compose = parse(read('docker-compose.yml')) as { services: { grafana: { volumes: string[] } } };
    const provider = parse(read('otel-config/grafana/provisioning/dashboards/otel-contracts.yml')) as { providers: { options: { path: string } }[] };
    const mount = compose.services.grafana.volumes.find((v) => v.startsWith('./otel-config/grafana/dashboards:'));
    expect(mount?.split(':')[1]).toBe(provider.providers[0]?.options.path);
    expect(compose.services.grafana.volumes).toContain('./otel-config/grafana/provisioning/dashboards:/etc/grafana/provisioning/dashboards:ro');
  });
});
