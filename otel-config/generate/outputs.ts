/**
 * Every file the generator owns, with its generated text: per contract a dashboard, a rule file, its
 * promtool tests and a reference page.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentContracts, type ComponentContractId } from '../../semconv/index.ts';
import { buildDashboard } from './dashboard.ts';
import { renderContractDoc } from './docs.ts';
import { layouts } from './layouts/index.ts';
import { recordedBy } from './recorded-by.ts';
import { renderRules, renderRuleTests } from './rules.ts';

/** The repository root (two levels above this file). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One generated file: its path relative to the repository root and its content. */
export interface GeneratedFile {
  readonly path: string;
  readonly text: string;
}

/** Dashboard JSON path of a contract, relative to the repository root. */
export function dashboardPath(id: string): string {
  return `otel-config/grafana/dashboards/${id}.json`;
}

/** Rule file path of a contract, relative to the repository root. */
export function rulesPath(id: string): string {
  return `otel-config/rules/${id}.yml`;
}

/** promtool test file path of a contract, relative to the repository root. */
export function ruleTestsPath(id: string): string {
  return `otel-config/rules/${id}.test.yml`;
}

/** Reference page path of a contract, relative to the repository root. */
export function docPath(id: string): string {
  return `docs/contracts/${id}.md`;
}

/** Every generated file, in a stable order. `root` is where recorded-by.ts looks for sources. */
export function generatedFiles(root: string = REPO_ROOT): GeneratedFile[] {
  const contracts = Object.values(componentContracts);
  const recorders = recordedBy(root, contracts.flatMap((c) => c.families.map((f) => f.name)));
  return (Object.keys(componentContracts) as ComponentContractId[]).flatMap((id) => {
    const contract = componentContracts[id];
    const layout = layouts[id];
    return [
      { path: dashboardPath(id), text: `${JSON.stringify(buildDashboard(contract, layout), null, 2)}\n` },
      { path: rulesPath(id), text: renderRules(contract, layout) },
      { path: ruleTestsPath(id), text: renderRuleTests(contract, layout) },
      { path: docPath(id), text: renderContractDoc(contract, layout, { recordedBy: recorders }) },
    ];
  });
}
