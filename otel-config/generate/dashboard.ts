/**
 * A contract's Grafana dashboard, built with `@grafana/grafana-foundation-sdk`: template variables
 * for the scrape job and the layout's labels, one row per seed section with one panel per family,
 * and a row with the seed document's own example queries.
 */
import { VizLegendOptionsBuilder, LegendDisplayMode, LegendPlacement, ReduceDataOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DashboardBuilder, DatasourceVariableBuilder, QueryVariableBuilder, RowBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import type { ContractSpec, FamilySpec } from '../../semconv/types.ts';
import type { ContractLayout } from './layout.ts';
import { familyQueries, JOB_VARIABLE, labelNames, type PanelQuery } from './queries.ts';
import { grafanaUnit } from './units.ts';

/** The dashboard's datasource variable: every panel and variable reads the Prometheus datasource chosen in it. */
export const DATASOURCE_VARIABLE = 'datasource';

/**
 * What every query uses: the datasource picked in the `datasource` variable, so a dashboard imported
 * into any Grafana works with whichever Prometheus datasource it has. It starts on the one that
 * otel-config/grafana/provisioning/datasources/prometheus.yml provisions in the local stack.
 */
export const DATASOURCE = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` } as const;

/** The uid of the local stack's provisioned Prometheus datasource (named `Prometheus`). */
const PROVISIONED_DATASOURCE = 'otel-contracts-prometheus';

function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder(DATASOURCE_VARIABLE)
    .label('Prometheus')
    .type('prometheus')
    .current({ text: 'Prometheus', value: PROVISIONED_DATASOURCE });
}

/** The title of the row that holds the seed document's example queries. */
export const SEED_ROW_TITLE = 'Seed examples';


/** Dashboard uid of a contract. */
export function dashboardUid(contract: ContractSpec): string {
  return `otel-contracts-${contract.id}`;
}

function variable(name: string, family: string): QueryVariableBuilder {
  return new QueryVariableBuilder(name)
    .label(name)
    .datasource(DATASOURCE)
    .query(`label_values(${family}, ${name})`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*');
}

/** The first family of the contract that carries `label` (any family for `job`). */
function familyCarrying(contract: ContractSpec, label: string): FamilySpec {
  const f = label === JOB_VARIABLE ? contract.families[0] : contract.families.find((x) => labelNames(contract, x).includes(label));
  if (!f) throw new Error(`layout of ${contract.id}: variable "${label}" is neither an instance label nor a label of any family; remove it from otel-config/generate/layouts/${contract.id}.ts`);
  return f;
}

function targets(queries: readonly PanelQuery[]): DataqueryBuilder[] {
  return queries.map((q) => new DataqueryBuilder().datasource(DATASOURCE).expr(q.expr).legendFormat(q.legend).refId(q.refId));
}

function describe(family: FamilySpec): string {
  const labels = family.labels.map((l) => (l.values ? `${l.name} (${l.values.join(', ')})` : l.name));
  return `${family.help}\n\n${family.type}, unit ${family.unit}${labels.length ? `; labels: ${labels.join('; ')}` : ''}. Seed section: ${family.section}.`;
}

/** A gauge without labels reads best as its last value; everything else as a time series with the last value in the legend. */
function familyPanel(contract: ContractSpec, family: FamilySpec, variables: readonly string[], id: number): StatPanelBuilder | TimeseriesPanelBuilder {
  const queries = familyQueries(contract, family, variables);
  if (family.type === 'gauge' && family.labels.length === 0) {
    return new StatPanelBuilder()
      .id(id)
      .title(family.name)
      .description(describe(family))
      .datasource(DATASOURCE)
      .unit(grafanaUnit(family))
      .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']))
      .span(6)
      .height(6)
      .targets(targets(queries));
  }
  return new TimeseriesPanelBuilder()
    .id(id)
    .title(family.name)
    .description(describe(family))
    .datasource(DATASOURCE)
    .unit(grafanaUnit(family))
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.Table).placement(LegendPlacement.Bottom).calcs(['lastNotNull', 'max']))
    .span(12)
    .height(8)
    .targets(targets(queries));
}

/**
 * The dashboard model (Grafana JSON) of `contract` with its `layout`.
 * @throws Error when a layout variable fits no family of the contract.
 */
export function buildDashboard(contract: ContractSpec, layout: ContractLayout): object {
  const variables = [JOB_VARIABLE, ...layout.variables];
  const builder = new DashboardBuilder(layout.title)
    .uid(dashboardUid(contract))
    .description(`${contract.brief} Generated from semconv/${contract.id}.yaml by \`npm run gen:dashboards\`; do not edit.`)
    .tags(['otel-contracts', contract.id])
    .editable()
    .refresh('10s')
    .time({ from: 'now-30m', to: 'now' })
    .timezone('browser');
  builder.withVariable(datasourceVariable());
  for (const v of variables) builder.withVariable(variable(v, familyCarrying(contract, v).name));
  let id = 1;
  const sections = [...new Set(contract.families.map((f) => f.section))];
  for (const section of sections) {
    builder.withRow(new RowBuilder(section).id(id++));
    for (const family of contract.families.filter((f) => f.section === section)) builder.withPanel(familyPanel(contract, family, variables, id++));
  }
  if (layout.seedPanels.length) {
    builder.withRow(new RowBuilder(SEED_ROW_TITLE).id(id++));
    for (const seed of layout.seedPanels) {
      builder.withPanel(
        new TimeseriesPanelBuilder()
          .id(id++)
          .title(seed.title)
          .description(`From the seed document ${contract.seed}.${seed.note ? ` ${seed.note}` : ''}`)
          .datasource(DATASOURCE)
          .unit(seed.unit)
          .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.Table).placement(LegendPlacement.Bottom).calcs(['lastNotNull']))
          .span(12)
          .height(8)
          .targets(targets([{ refId: 'A', expr: seed.expr, legend: seed.legend ?? '__auto' }])),
      );
    }
  }
  return builder.build();
}
