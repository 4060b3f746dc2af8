import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, isNode } from 'yaml';
import {
  prometheusTypeOf,
  type ContractSpec,
  type DocumentedType,
  type DocumentSections,
  type FamilyRequirement,
  type FamilySpec,
  type ForbiddenLabelSpec,
  type InstanceLabelSpec,
  type InstrumentKind,
  type LabelSpec,
  type SeedReference,
  type TieCondition,
} from './types.ts';
import { PACKAGE_ROOT } from './package-root.ts';

/** The folder holding the checked-in registries (`semconv/` of the package, also when running from `dist/`). */
export const REGISTRY_DIR = join(PACKAGE_ROOT, 'semconv');

/** The registry manifest's file name in a registry folder (Weaver's `manifest.yaml`); every other `*.yaml` is a contract. */
export const MANIFEST_FILE = 'manifest.yaml';

const SCHEMA_ID = 'https://otel-contracts.dev/registry.schema.json';
let ajv: Ajv | undefined;
/** The registry JSON Schema, compiled on first use: the root validates a contract file, `#/definitions/manifest` the manifest. */
function validator(ref: '' | '#/definitions/manifest'): ValidateFunction {
  if (!ajv) {
    const schema = JSON.parse(readFileSync(join(REGISTRY_DIR, 'registry.schema.json'), 'utf8')) as object;
    // strictTuples off: `groups` is an open tuple on purpose (the first group, then any number of metric groups).
    ajv = new Ajv({ allErrors: true, strict: true, strictTuples: false, formats: { regex: isRegex } });
    ajv.addSchema(schema);
  }
  const validate = ajv.getSchema(`${SCHEMA_ID}${ref}`);
  if (!validate) throw new Error(`registry.schema.json has no ${ref || 'root'} schema`);
  return validate;
}

/**
 * A registry that does not validate. The message names the file, the line, the path inside the
 * document (JSON pointer) and the problem, e.g.
 * `semconv/egress.yaml:42 /groups/3/instrument: must be one of counter, updowncounter, gauge, histogram`.
 */
export class RegistryError extends Error {
  readonly file: string;
  readonly path: string;
  readonly problem: string;
  constructor(file: string, path: string, problem: string, line?: number) {
    super(`${file}${line ? `:${line}` : ''} ${path || '/'}: ${problem}`);
    this.name = 'RegistryError';
    this.file = file;
    this.path = path;
    this.problem = problem;
  }
}

/** OTel Weaver's stability levels, as the registry uses them (never `deprecated`). */
export type Stability = 'stable' | 'development' | 'alpha' | 'beta' | 'release_candidate';
type RequirementLevel = 'required' | 'recommended' | 'opt_in';
interface RawSeed {
  file: string;
  title: string;
  repository?: string;
  path?: string;
  commit?: string;
  date?: string;
  git_blob: string;
  note?: string;
  /** {@link DocumentSections}, with snake_case keys. */
  sections: Record<string, string>;
}
interface RawContract {
  id: string;
  prefix: string;
  brief?: string;
  seed: 'none' | RawSeed;
  default_buckets?: number[];
  forbidden_labels?: { id: string; brief: string; label_names: string[]; value_pattern?: string }[];
}
interface RawAttributeDefinition {
  id: string;
  type: 'string' | { members: { id: string; value: string; stability: Stability; brief?: string; note?: string }[] };
  stability: Stability;
  brief: string;
  note?: string;
  examples?: string[];
  annotations: {
    otel_contracts: {
      label: string;
      cardinality_limit?: number;
      instance?: { env: string; fallback?: 'hostname' | 'empty' | 'omit'; families?: string[]; cardinality_limit: number; quote: string };
      values_from?: { family: string; placeholders: string[]; quote: string };
    };
  };
}
interface RawRegistryGroup {
  id: string;
  type: 'attribute_group';
  stability: Stability;
  brief: string;
  annotations: { otel_contracts: { contract: RawContract } };
  attributes: RawAttributeDefinition[];
}
interface RawMetricGroup {
  id: string;
  type: 'metric';
  metric_name: string;
  instrument: InstrumentKind;
  unit: string;
  stability: Stability;
  brief: string;
  note?: string;
  annotations: {
    otel_contracts: {
      section: string;
      buckets?: number[];
      requirement?: RawRequirement;
      accepted_types?: DocumentedType[];
      component?: string;
      contract?: RawContract;
    };
  };
  attributes?: { ref: string; requirement_level: RequirementLevel; brief?: string; note?: string }[];
}
interface RawRequirement {
  level: FamilyRequirement['level'];
  quote: string;
  when?: { family: string; labels: Record<string, string>; value: number } | { role: string; other_role_marker: string };
}
interface RawRegistry {
  groups: [RawRegistryGroup | RawMetricGroup, ...RawMetricGroup[]];
}

/** A registry file's {@link ContractSpec} and its seed document's revision. */
export interface RegistryDetails {
  readonly contract: ContractSpec;
  /** The seed document's revision ({@link ContractSpec.seedReference}); absent for a contract without a seed (`seed: none`). */
  readonly seed?: SeedReference;
}

/** An id a registry file defines, and where (JSON pointer): for the checks across the files of a folder. */
interface Located {
  readonly kind: 'group id' | 'attribute id' | 'metric name';
  readonly id: string;
  readonly path: string;
}

/** A parsed registry file: its details, the ids it defines, and a `fail` that names lines of its text. */
interface Parsed {
  readonly details: RegistryDetails;
  readonly ids: readonly Located[];
  readonly fail: Fail;
}

/**
 * Parses and validates one registry from its YAML text, and normalizes it to a {@link ContractSpec}.
 * @param text YAML source.
 * @param file Name used in error messages (relative path).
 * @throws RegistryError on YAML syntax errors, schema violations (semconv/registry.schema.json: the OTel
 *   Weaver format and our annotations), and semantic errors (a name outside the prefix, an attribute
 *   outside the contract's namespace or referenced but not defined, duplicate families, labels or ids, an
 *   unbounded label without a cardinality limit, buckets on a non-histogram or not strictly increasing,
 *   accepted types without the family's own, a tie or `values_from` naming what the contract lacks, a
 *   `component` on some families only).
 */
export function parseRegistry(text: string, file: string): ContractSpec {
  return parseRegistryDetails(text, file).contract;
}

/**
 * {@link parseRegistry}, also returning the seed document's revision and the Weaver ids the file defines.
 * @throws RegistryError as {@link parseRegistry}.
 */
export function parseRegistryDetails(text: string, file: string): RegistryDetails {
  return parse(text, file).details;
}

function parse(text: string, file: string): Parsed {
  const { raw, fail } = parseYaml(text, file, validator(''));
  return { ...normalize(raw as RawRegistry, fail), fail };
}

/** The registry manifest (Weaver's `manifest.yaml`), as semconv/manifest.yaml writes it. */
export interface RegistryManifest {
  /** The registry's name (Weaver before v0.25 required it; v0.25.1 derives the name from `schema_url`). */
  readonly name: string;
  readonly description: string;
  /** The registry's version, the last segment of `schema_url`. */
  readonly semconv_version: string;
  /** `schema_url` without the version, ending in `/`. */
  readonly schema_base_url: string;
  /** What identifies the registry to Weaver v0.25.1: `http[s]://server/path/<version>`. */
  readonly schema_url: string;
  readonly stability: Stability;
}

/**
 * Loads and validates the registry manifest of a folder (default `semconv/`).
 * @throws RegistryError when it is missing, does not validate, or its `schema_url` is not
 *   `schema_base_url` + `semconv_version`.
 */
export function loadManifest(dir: string = REGISTRY_DIR): RegistryManifest {
  const path = join(dir, MANIFEST_FILE);
  const shown = relative(process.cwd(), path) || basename(path);
  const { raw, fail } = parseYaml(readText(path, shown), shown, validator('#/definitions/manifest'));
  const m = raw as RegistryManifest;
  if (m.schema_url !== `${m.schema_base_url}${m.semconv_version}`) {
    fail('/schema_url', `must be schema_base_url + semconv_version ("${m.schema_base_url}${m.semconv_version}")`);
  }
  return m;
}

/**
 * Loads one registry file.
 * @throws RegistryError when the file cannot be read or does not validate.
 */
export function loadRegistryFile(path: string): ContractSpec {
  const shown = relative(process.cwd(), path) || basename(path);
  return parseRegistry(readText(path, shown), shown);
}

/**
 * Loads every contract registry in a folder (default `semconv/`): each `*.yaml` but the manifest, sorted by
 * file name. Validates the manifest when the folder has one, and what Weaver checks across the files of a
 * registry: no group id, attribute id or metric name defined twice.
 * @throws RegistryError naming the file, line and problem.
 */
export function loadRegistryDir(dir: string = REGISTRY_DIR): ContractSpec[] {
  return loadRegistryDetails(dir).map((d) => d.contract);
}

/** {@link loadRegistryDir}, with each contract's {@link RegistryDetails}. */
export function loadRegistryDetails(dir: string = REGISTRY_DIR): RegistryDetails[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  if (files.includes(MANIFEST_FILE)) loadManifest(dir);
  const seen = new Map<string, string>();
  return files
    .filter((f) => f !== MANIFEST_FILE)
    .map((f) => {
      const path = join(dir, f);
      const shown = relative(process.cwd(), path) || f;
      const { details, ids, fail } = parse(readText(path, shown), shown);
      for (const { kind, id, path: at } of ids) {
        const other = seen.get(`${kind} ${id}`);
        if (other) fail(at, `${kind} "${id}" is also defined in ${other}; Weaver reads the folder as one registry`);
        seen.set(`${kind} ${id}`, shown);
      }
      return details;
    });
}

function readText(path: string, shown: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new RegistryError(shown, '', `cannot read: ${(e as Error).message}`);
  }
}

type Fail = (path: string, problem: string) => never;

/** Parses YAML (and validates it when given a schema), with a `fail` that names the line of a JSON pointer. */
function parseYaml(text: string, file: string, validate?: ValidateFunction): { raw: unknown; fail: Fail } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (path: string): number | undefined => {
    const keys = path.split('/').slice(1).map((k) => (/^\d+$/.test(k) ? Number(k) : k));
    for (let n = keys.length; n >= 0; n--) {
      const node = keys.length === 0 ? doc.contents : doc.getIn(keys.slice(0, n), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  const fail: Fail = (path, problem) => {
    throw new RegistryError(file, path, problem, lineOf(path));
  };
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = lineCounter.linePos(yamlError.pos[0]).line;
    throw new RegistryError(file, '', `YAML syntax: ${yamlError.message.split('\n')[0]}`, line);
  }
  const raw = doc.toJS() as unknown;
  if (validate && !validate(raw)) {
    const err = mostSpecific(validate.errors ?? []);
    fail(err.instancePath, describe(err));
  }
  return { raw, fail };
}

/** A checked attribute definition of the contract's attribute_group. */
interface Definition {
  readonly def: RawAttributeDefinition;
  readonly at: string;
  used: boolean;
}

function normalize(raw: RawRegistry, fail: Fail): { details: RegistryDetails; ids: Located[] } {
  const first = raw.groups[0];
  const contractAt = '/groups/0/annotations/otel_contracts/contract';
  const c = first.annotations.otel_contracts.contract as RawContract;
  const registry = first.type === 'attribute_group' ? first : undefined;
  const metricGroups = raw.groups.flatMap((g, gi) => (g.type === 'metric' ? [{ g, at: `/groups/${gi}` }] : []));
  for (const { g, at } of metricGroups) {
    if (at !== '/groups/0' && g.annotations.otel_contracts.contract) {
      fail(`${at}/annotations/otel_contracts/contract`, 'the contract annotation belongs on the first group only');
    }
  }
  if (c.default_buckets) checkBuckets(c.default_buckets, `${contractAt}/default_buckets`, fail);

  const definitions = defineAttributes(registry, c.prefix, fail);
  const instanceLabels: InstanceLabelSpec[] = [];
  for (const { def, at } of definitions.values()) {
    const inst = def.annotations.otel_contracts.instance;
    if (!inst) continue;
    instanceLabels.push({
      name: def.annotations.otel_contracts.label,
      env: inst.env,
      fallback: inst.fallback ?? 'empty',
      brief: def.brief,
      ...(inst.families ? { families: inst.families } : {}),
      cardinalityLimit: inst.cardinality_limit,
      quote: inst.quote,
    });
    (inst.families ?? []).forEach((prefix, pi) => {
      const pat = `${at}/annotations/otel_contracts/instance/families/${pi}`;
      if (!prefix.startsWith(c.prefix)) fail(pat, `"${prefix}" does not start with the contract prefix "${c.prefix}"`);
      if (!metricGroups.some(({ g }) => g.metric_name.startsWith(prefix))) fail(pat, `no family name starts with "${prefix}"; name a prefix of at least one family, or remove it`);
    });
  }

  const names = new Set<string>();
  const ids: Located[] = registry ? [{ kind: 'group id', id: registry.id, path: '/groups/0/id' }] : [];
  const families: FamilySpec[] = metricGroups.map(({ g, at }) => {
    if (!g.metric_name.startsWith(c.prefix)) fail(`${at}/metric_name`, `"${g.metric_name}" does not start with the prefix "${c.prefix}"`);
    if (names.has(g.metric_name)) fail(`${at}/metric_name`, `duplicate family "${g.metric_name}"`);
    if (ids.some((x) => x.kind === 'group id' && x.id === g.id)) fail(`${at}/id`, `duplicate group id "${g.id}"`);
    names.add(g.metric_name);
    ids.push({ kind: 'group id', id: g.id, path: `${at}/id` }, { kind: 'metric name', id: g.metric_name, path: `${at}/metric_name` });
    const own = g.annotations.otel_contracts;
    if (own.buckets && g.instrument !== 'histogram') fail(`${at}/annotations/otel_contracts/buckets`, `buckets are only allowed on a histogram, not a ${g.instrument}`);
    if (own.buckets) checkBuckets(own.buckets, `${at}/annotations/otel_contracts/buckets`, fail);

    const labelNames = new Set<string>();
    const labels: LabelSpec[] = (g.attributes ?? []).map((r, ri) => {
      const rat = `${at}/attributes/${ri}/ref`;
      const d = definitions.get(r.ref);
      if (!d) fail(rat, `no attribute "${r.ref}" is defined in ${registry ? `the ${registry.id} group` : 'this file (it has no attribute_group)'}`);
      d.used = true;
      const { def } = d;
      const name = def.annotations.otel_contracts.label;
      if (def.annotations.otel_contracts.instance) fail(rat, `"${name}" is an instance label; it is put on every family already`);
      if (labelNames.has(name)) fail(rat, `duplicate label "${name}"`);
      labelNames.add(name);
      const required = r.requirement_level === 'required';
      const brief = r.brief ?? def.brief;
      const from = def.annotations.otel_contracts.values_from;
      const valuesFrom = from ? { valuesFrom: { family: from.family, placeholders: from.placeholders, quote: from.quote } } : {};
      if (def.type === 'string') return { name, brief, required, cardinalityLimit: def.annotations.otel_contracts.cardinality_limit as number, ...valuesFrom };
      return { name, brief, required, values: def.type.members.map((m) => m.value), ...valuesFrom };
    });

    const buckets = g.instrument === 'histogram' ? (own.buckets ?? c.default_buckets) : undefined;
    if (g.instrument === 'histogram' && !buckets) fail(at, `histogram "${g.metric_name}" has no buckets and the contract has no default_buckets`);
    const maxSeries = labels.reduce((n, l) => n * ((l.values?.length ?? l.cardinalityLimit ?? 1) + (l.required ? 0 : 1)), 1);
    const type = prometheusTypeOf(g.instrument);
    if (own.accepted_types && !own.accepted_types.includes(type)) fail(`${at}/annotations/otel_contracts/accepted_types`, `must include "${type}", the TYPE of a ${g.instrument}`);
    const family: FamilySpec = {
      name: g.metric_name,
      instrument: g.instrument,
      type,
      unit: g.unit,
      help: g.brief.trim(),
      section: own.section,
      labels,
      ...(buckets ? { buckets } : {}),
      maxSeries,
      ...(own.requirement ? { requirement: requirementOf(own.requirement) } : {}),
      ...(own.accepted_types ? { acceptedTypes: own.accepted_types } : {}),
      ...(own.component ? { component: own.component } : {}),
    };
    return family;
  });
  for (const [id, d] of definitions) {
    if (!d.used && !d.def.annotations.otel_contracts.instance) fail(d.at, `attribute "${id}" is on no family; reference it from a family, or remove it`);
  }
  checkFamilyReferences(metricGroups, families, definitions, fail);

  const forbiddenLabels: ForbiddenLabelSpec[] = (c.forbidden_labels ?? []).map((f) => ({
    id: f.id,
    brief: f.brief,
    labelNames: f.label_names,
    ...(f.value_pattern ? { valuePattern: f.value_pattern } : {}),
  }));

  const seed = c.seed === 'none' ? undefined : seedReference(c.seed);
  const contract: ContractSpec = {
    id: c.id,
    seed: c.seed === 'none' ? 'none' : c.seed.file,
    brief: c.brief ?? '',
    prefix: c.prefix,
    families,
    instanceLabels,
    forbiddenLabels,
    ...(seed ? { seedReference: seed } : {}),
  };
  for (const [id, d] of definitions) ids.push({ kind: 'attribute id', id, path: `${d.at}/id` });
  return { details: { contract, ...(seed ? { seed } : {}) }, ids };
}

/**
 * Checks the attribute definitions of the contract's attribute_group: ids inside the contract's namespace
 * (the prefix without its trailing underscore), unique, none the namespace of another (Weaver's
 * `illegal_namespace`), the label the id's last segment and not reserved by Prometheus, a cardinality
 * limit exactly on the unbounded family labels, distinct member values.
 */
function defineAttributes(registry: RawRegistryGroup | undefined, prefix: string, fail: Fail): Map<string, Definition> {
  const namespace = prefix.slice(0, -1);
  const definitions = new Map<string, Definition>();
  (registry?.attributes ?? []).forEach((def, ai) => {
    const at = `/groups/0/attributes/${ai}`;
    const own = def.annotations.otel_contracts;
    if (!def.id.startsWith(`${namespace}.`)) fail(`${at}/id`, `"${def.id}" is outside the contract's namespace "${namespace}." (the prefix without its trailing underscore)`);
    if (definitions.has(def.id)) fail(`${at}/id`, `duplicate attribute "${def.id}"`);
    if (def.id.slice(def.id.lastIndexOf('.') + 1) !== own.label) fail(`${at}/annotations/otel_contracts/label`, `the label "${own.label}" must be the last segment of the id "${def.id}"`);
    if (own.label === 'le' || own.label === 'quantile' || own.label.startsWith('__')) fail(`${at}/annotations/otel_contracts/label`, `"${own.label}" is reserved by Prometheus`);
    if (own.instance) {
      if (def.type !== 'string') fail(`${at}/type`, 'an instance label is read from the environment: type string');
      if (own.cardinality_limit !== undefined) fail(`${at}/annotations/otel_contracts/cardinality_limit`, 'an instance label\'s budget is instance.cardinality_limit (values per checked target); remove this one');
    } else if (def.type === 'string') {
      if (own.cardinality_limit === undefined) fail(at, `unbounded label "${own.label}" (type: string) needs a cardinality_limit annotation`);
    } else {
      if (own.cardinality_limit !== undefined) fail(`${at}/annotations/otel_contracts/cardinality_limit`, 'an enum label is bounded by its members; remove cardinality_limit');
      const values = def.type.members.map((m) => m.value);
      const dup = values.find((v, i) => values.indexOf(v) !== i);
      if (dup !== undefined) fail(`${at}/type/members`, `duplicate member value "${dup}"`);
    }
    definitions.set(def.id, { def, at, used: false });
  });
  for (const [id, { at }] of definitions) {
    const segments = id.split('.');
    for (let n = 1; n < segments.length; n++) {
      const ns = segments.slice(0, n).join('.');
      if (definitions.has(ns)) fail(`${at}/id`, `"${id}" uses the attribute "${ns}" as its namespace`);
    }
  }
  return definitions;
}

/** A metric group's `requirement` annotation as a {@link FamilyRequirement}: the `when` kind named by its shape. */
function requirementOf(r: RawRequirement): FamilyRequirement {
  const w = r.when;
  if (!w) return { level: r.level, quote: r.quote };
  const when: TieCondition = 'family' in w ? { kind: 'value', family: w.family, labels: w.labels, value: w.value } : { kind: 'role', role: w.role, otherRoleMarker: w.other_role_marker };
  return { level: r.level, quote: r.quote, when };
}

/**
 * Checks what the families' annotations name of other families: a condition on tied requirements only, a tie's
 * family and labels (with a documented value), a role's marker (a family not tied to that role), a `values_from`
 * family that references the attribute; and a `component` on every family or on none.
 */
function checkFamilyReferences(
  metricGroups: readonly { g: RawMetricGroup; at: string }[],
  families: readonly FamilySpec[],
  definitions: ReadonlyMap<string, Definition>,
  fail: Fail,
): void {
  const byName = new Map(families.map((f) => [f.name, f]));
  families.forEach((family, i) => {
    const at = metricGroups[i]?.at as string;
    const when = family.requirement?.when;
    const wat = `${at}/annotations/otel_contracts/requirement/when`;
    if (when && family.requirement?.level !== 'tied') fail(wat, `only a tied requirement has a condition; this one is ${family.requirement?.level}`);
    if (when?.kind === 'value') {
      const tied = byName.get(when.family);
      if (!tied) fail(`${wat}/family`, `no family "${when.family}" in this contract`);
      for (const [label, value] of Object.entries(when.labels)) {
        const l = tied.labels.find((x) => x.name === label);
        if (!l) fail(`${wat}/labels/${label}`, `"${when.family}" has no label "${label}"`);
        if (l.values && !l.values.includes(value)) fail(`${wat}/labels/${label}`, `"${value}" is not a value of "${label}" (${l.values.join(', ')})`);
      }
    }
    if (when?.kind === 'role') {
      const marker = byName.get(when.otherRoleMarker);
      if (!marker) fail(`${wat}/other_role_marker`, `no family "${when.otherRoleMarker}" in this contract`);
      const w = marker.requirement?.when;
      if (w?.kind === 'role' && w.role === when.role) fail(`${wat}/other_role_marker`, `"${marker.name}" is itself tied to the role "${when.role}"`);
    }
    if ((family.component === undefined) !== (families[0]?.component === undefined)) {
      fail(`${at}/annotations/otel_contracts`, 'a component goes on every family of a contract or on none');
    }
  });
  for (const [id, { def, at }] of definitions) {
    const from = def.annotations.otel_contracts.values_from;
    if (!from) continue;
    const reference = metricGroups.find(({ g }) => g.metric_name === from.family);
    if (!reference?.g.attributes?.some((r) => r.ref === id)) {
      fail(`${at}/annotations/otel_contracts/values_from/family`, `"${from.family}" is not a family of this contract that references "${id}"`);
    }
  }
}

function seedReference(s: RawSeed): SeedReference {
  // `instance_labels` -> `instanceLabels`: the schema admits only the keys of DocumentSections, snake-cased.
  const sections = Object.fromEntries(Object.entries(s.sections).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v])) as unknown as DocumentSections;
  return {
    file: s.file,
    title: s.title,
    ...(s.repository ? { repository: s.repository } : {}),
    ...(s.path ? { path: s.path } : {}),
    ...(s.commit ? { commit: s.commit } : {}),
    ...(s.date ? { date: s.date } : {}),
    gitBlob: s.git_blob,
    ...(s.note ? { note: s.note } : {}),
    sections,
  };
}

function checkBuckets(b: number[], path: string, fail: Fail): void {
  for (let i = 1; i < b.length; i++) {
    if (!((b[i] as number) > (b[i - 1] as number))) fail(`${path}/${i}`, `bucket boundaries must be strictly increasing (${b[i - 1]} then ${b[i]})`);
  }
}

function isRegex(s: string): boolean {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * The deepest error explains best. At one depth, an unknown field before a missing one (a misspelt key gives
 * both, and the first names it), and the noise of `oneOf`, `anyOf` and `if` last.
 */
function mostSpecific(errors: ErrorObject[]): ErrorObject {
  const rank = (e: ErrorObject) => (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'if' ? 2 : e.keyword === 'required' ? 1 : 0);
  const ranked = [...errors].sort((a, b) => {
    const depth = b.instancePath.split('/').length - a.instancePath.split('/').length;
    if (depth !== 0) return depth;
    return rank(a) - rank(b);
  });
  return ranked[0] as ErrorObject;
}

function describe(err: ErrorObject): string {
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties':
      return `unknown field "${String(p.additionalProperty)}"`;
    case 'required':
      return `missing field "${String(p.missingProperty)}"`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'const':
      return `must be "${String(p.allowedValue)}"`;
    case 'additionalItems':
      return 'must be a metric group (only the first group may be the contract\'s attribute_group)';
    default:
      return err.message ?? err.keyword;
  }
}
