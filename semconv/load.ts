import { readFileSync, readdirSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, isNode } from 'yaml';
import {
  prometheusTypeOf,
  type ContractSpec,
  type FamilySpec,
  type ForbiddenLabelSpec,
  type InstanceLabelSpec,
  type InstrumentKind,
  type LabelSpec,
} from './types.ts';
import { PACKAGE_ROOT } from './package-root.ts';

/** The folder holding the checked-in registries (`semconv/` of the package, also when running from `dist/`). */
export const REGISTRY_DIR = join(PACKAGE_ROOT, 'semconv');

let compiled: ValidateFunction | undefined;
/** The registry JSON Schema, compiled on first use. */
function validateShape(): ValidateFunction {
  if (!compiled) {
    const schema = JSON.parse(readFileSync(join(REGISTRY_DIR, 'registry.schema.json'), 'utf8')) as object;
    compiled = new Ajv({ allErrors: true, strict: true, formats: { regex: isRegex } }).compile(schema);
  }
  return compiled;
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

interface RawAttribute {
  id: string;
  brief: string;
  requirement_level: 'required' | 'recommended' | 'opt_in';
  cardinality_limit?: number;
  type: 'string' | { members: { id: string; value: string; brief?: string }[] };
}
interface RawGroup {
  id: string;
  metric_name: string;
  instrument: InstrumentKind;
  unit: string;
  brief: string;
  section: string;
  buckets?: number[];
  attributes?: RawAttribute[];
}
interface RawRegistry {
  contract: string;
  seed: string;
  brief?: string;
  prefix: string;
  default_buckets?: number[];
  instance_labels?: { id: string; env: string; fallback?: 'hostname' | 'empty' | 'omit'; brief: string; families?: string[] }[];
  forbidden_labels?: { id: string; brief: string; label_names: string[]; value_pattern?: string }[];
  groups: RawGroup[];
}

/**
 * Parses and validates one registry from its YAML text, and normalizes it to a {@link ContractSpec}.
 * @param text YAML source.
 * @param file Name used in error messages (relative path).
 * @throws RegistryError on YAML syntax errors, schema violations, and semantic errors (a name outside
 *   the prefix, duplicate families or labels, an unbounded label without a cardinality limit,
 *   buckets on a non-histogram or not strictly increasing).
 */
export function parseRegistry(text: string, file: string): ContractSpec {
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
  const fail = (path: string, problem: string): never => {
    throw new RegistryError(file, path, problem, lineOf(path));
  };

  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = lineCounter.linePos(yamlError.pos[0]).line;
    throw new RegistryError(file, '', `YAML syntax: ${yamlError.message.split('\n')[0]}`, line);
  }
  const raw = doc.toJS() as unknown;
  const validate = validateShape();
  if (!validate(raw)) {
    const err = mostSpecific(validate.errors ?? []);
    fail(err.instancePath, describe(err));
  }
  return normalize(raw as RawRegistry, fail);
}

/**
 * Loads one registry file.
 * @throws RegistryError when the file cannot be read or does not validate.
 */
export function loadRegistryFile(path: string): ContractSpec {
  const shown = relative(process.cwd(), path) || basename(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new RegistryError(shown, '', `cannot read: ${(e as Error).message}`);
  }
  return parseRegistry(text, shown);
}

/** Loads every `*.yaml` registry in a folder (default `semconv/`), sorted by file name. */
export function loadRegistryDir(dir: string = REGISTRY_DIR): ContractSpec[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => loadRegistryFile(join(dir, f)));
}

function normalize(raw: RawRegistry, fail: (path: string, problem: string) => never): ContractSpec {
  const names = new Set<string>();
  const ids = new Set<string>();
  const instanceLabels: InstanceLabelSpec[] = (raw.instance_labels ?? []).map((l) => ({
    name: l.id,
    env: l.env,
    fallback: l.fallback ?? 'empty',
    brief: l.brief,
    ...(l.families ? { families: l.families } : {}),
  }));
  const instanceNames = new Set(instanceLabels.map((l) => l.name));
  if (raw.default_buckets) checkBuckets(raw.default_buckets, '/default_buckets', fail);

  const families: FamilySpec[] = raw.groups.map((g, gi) => {
    const at = `/groups/${gi}`;
    if (!g.metric_name.startsWith(raw.prefix)) fail(`${at}/metric_name`, `"${g.metric_name}" does not start with the prefix "${raw.prefix}"`);
    if (names.has(g.metric_name)) fail(`${at}/metric_name`, `duplicate family "${g.metric_name}"`);
    if (ids.has(g.id)) fail(`${at}/id`, `duplicate group id "${g.id}"`);
    names.add(g.metric_name);
    ids.add(g.id);
    if (g.buckets && g.instrument !== 'histogram') fail(`${at}/buckets`, `buckets are only allowed on a histogram, not a ${g.instrument}`);
    if (g.buckets) checkBuckets(g.buckets, `${at}/buckets`, fail);

    const labelIds = new Set<string>();
    const labels: LabelSpec[] = (g.attributes ?? []).map((a, ai) => {
      const aat = `${at}/attributes/${ai}`;
      if (labelIds.has(a.id)) fail(`${aat}/id`, `duplicate label "${a.id}"`);
      if (instanceNames.has(a.id)) fail(`${aat}/id`, `"${a.id}" is an instance label; it is put on every family already`);
      if (a.id === 'le' || a.id === 'quantile' || a.id.startsWith('__')) fail(`${aat}/id`, `"${a.id}" is reserved by Prometheus`);
      labelIds.add(a.id);
      const required = a.requirement_level === 'required';
      if (a.type === 'string') {
        if (a.cardinality_limit === undefined) fail(aat, `unbounded label "${a.id}" (type: string) needs a cardinality_limit`);
        return { name: a.id, brief: a.brief, required, cardinalityLimit: a.cardinality_limit };
      }
      if (a.cardinality_limit !== undefined) fail(`${aat}/cardinality_limit`, 'an enum label is bounded by its members; remove cardinality_limit');
      const values = a.type.members.map((m) => m.value);
      const dup = values.find((v, i) => values.indexOf(v) !== i);
      if (dup !== undefined) fail(`${aat}/type/members`, `duplicate member value "${dup}"`);
      return { name: a.id, brief: a.brief, required, values };
    });

    const buckets = g.instrument === 'histogram' ? (g.buckets ?? raw.default_buckets) : undefined;
    if (g.instrument === 'histogram' && !buckets) fail(at, `histogram "${g.metric_name}" has no buckets and the registry has no default_buckets`);
    const maxSeries = labels.reduce((n, l) => n * ((l.values?.length ?? l.cardinalityLimit ?? 1) + (l.required ? 0 : 1)), 1);
    const family: FamilySpec = {
      name: g.metric_name,
      instrument: g.instrument,
      type: prometheusTypeOf(g.instrument),
      unit: g.unit,
      help: g.brief.trim(),
      section: g.section,
      labels,
      ...(buckets ? { buckets } : {}),
      maxSeries,
    };
    return family;
  });

  const forbiddenLabels: ForbiddenLabelSpec[] = (raw.forbidden_labels ?? []).map((f) => ({
    id: f.id,
    brief: f.brief,
    labelNames: f.label_names,
    ...(f.value_pattern ? { valuePattern: f.value_pattern } : {}),
  }));
  (raw.instance_labels ?? []).forEach((l, li) => {
    (l.families ?? []).forEach((prefix, pi) => {
      const at = `/instance_labels/${li}/families/${pi}`;
      if (!prefix.startsWith(raw.prefix)) fail(at, `"${prefix}" does not start with the contract prefix "${raw.prefix}"`);
      if (!families.some((f) => f.name.startsWith(prefix))) fail(at, `no family name starts with "${prefix}"; name a prefix of at least one family, or remove it`);
    });
  });

  return {
    id: raw.contract,
    seed: raw.seed,
    brief: raw.brief ?? '',
    prefix: raw.prefix,
    families,
    instanceLabels,
    forbiddenLabels,
  };
}

function checkBuckets(b: number[], path: string, fail: (path: string, problem: string) => never): void {
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

/** The deepest error explains best; `oneOf` noise comes last. */
function mostSpecific(errors: ErrorObject[]): ErrorObject {
  const ranked = [...errors].sort((a, b) => {
    const depth = b.instancePath.split('/').length - a.instancePath.split('/').length;
    if (depth !== 0) return depth;
    return Number(a.keyword === 'oneOf') - Number(b.keyword === 'oneOf');
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
    default:
      return err.message ?? err.keyword;
  }
}
