import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { HostPortError, parseHostPort } from '../kit/host-port.ts';
import { DEFAULT_HEALTH, normalizeName, RouteTable, type HealthSettings, type ProtocolHint, type Route } from './route-table.ts';
import { ROUTES_SCHEMA } from './routes-schema.ts';

/**
 * Reads the edge's routes file (YAML, or JSON when the name ends in `.json`) and turns it into a
 * {@link RouteTable}, or rejects it whole with the first problems found, each naming its field
 * (`routes[1].backends[0]: …`). Shapes are checked by the schema (routes-schema.ts); then, what a schema
 * cannot say: route ids unique, one route per (protocol_hint, name), every backend a `HOST:PORT` the edge
 * can dial, and `listeners_default` naming a route (required when the edge has a TCP listener).
 */

/** A routes file that cannot be used; the message names the file and the offending fields. */
export class RoutesFileError extends Error {
  /** The first offending field (`routes[1].backends`), or `(file)` when the file itself is unreadable. */
  readonly field: string;
  constructor(message: string, field: string) {
    super(message);
    this.name = 'RoutesFileError';
    this.field = field;
  }
}

/** What the edge's listeners need from the file. */
export interface RoutesContext {
  /** The edge has a TCP listener: `listeners_default` is required. */
  readonly needsDefault: boolean;
}

/** Largest routes file read. */
export const MAX_ROUTES_FILE_BYTES = 4 * 1024 * 1024;
/** Problems listed in one message. */
const MAX_LISTED = 5;

const validate = new Ajv({ allErrors: true, strict: true }).compile(ROUTES_SCHEMA);

interface Problem {
  readonly field: string;
  readonly message: string;
}

function fieldOf(path: string): string {
  return path
    .split('/')
    .slice(1)
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('')
    .replace(/^\./, '');
}

function schemaProblem(e: ErrorObject): Problem {
  const field = fieldOf(e.instancePath) || '(top level)';
  if (e.keyword === 'additionalProperties') return { field, message: `unknown field "${String(e.params.additionalProperty)}"` };
  if (e.keyword === 'enum') return { field, message: `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}` };
  if (e.keyword === 'required') return { field, message: `"${String(e.params.missingProperty)}" is required` };
  return { field, message: e.message ?? e.keyword };
}

/** The file's shape as the schema guarantees it. */
interface RawRoutes {
  routes: { id: string; sni?: string; protocol_hint: ProtocolHint; backends: string[]; proxy_v2?: boolean }[];
  listeners_default?: string;
  health?: { interval_ms?: number; timeout_ms?: number; unhealthy_after?: number; healthy_after?: number };
}

function checkRoutes(raw: RawRoutes, ctx: RoutesContext, problems: Problem[]): Route[] {
  const ids = new Set<string>();
  const names = new Map<string, string>();
  const routes: Route[] = [];
  raw.routes.forEach((r, i) => {
    const at = `routes[${i}]`;
    if (ids.has(r.id)) problems.push({ field: `${at}.id`, message: `duplicate route id "${r.id}"` });
    ids.add(r.id);
    const sni = r.sni === undefined ? undefined : normalizeName(r.sni);
    if (sni !== undefined && r.protocol_hint !== 'tcp') {
      const key = `${r.protocol_hint} ${sni}`;
      const other = names.get(key);
      if (other !== undefined) problems.push({ field: `${at}.sni`, message: `"${sni}" (${r.protocol_hint}) is already routed by "${other}"` });
      else names.set(key, r.id);
    }
    const backends = r.backends.flatMap((b, j) => {
      try {
        return [parseHostPort(b, `${at}.backends[${j}]`, 'dial')];
      } catch (e) {
        if (!(e instanceof HostPortError)) throw e;
        problems.push({ field: `${at}.backends[${j}]`, message: e.message.replace(/^\S+ /, '') });
        return [];
      }
    });
    routes.push({ id: r.id, sni, protocolHint: r.protocol_hint, backends, proxyV2: r.proxy_v2 === true });
  });
  if (raw.listeners_default !== undefined && !ids.has(raw.listeners_default)) {
    problems.push({ field: 'listeners_default', message: `no route has id "${raw.listeners_default}"` });
  }
  if (raw.listeners_default === undefined && ctx.needsDefault) {
    problems.push({ field: 'listeners_default', message: 'is required: the edge has a TCP listener (--listen tcp=HOST:PORT), which sends everything to this route' });
  }
  return routes;
}

function healthOf(raw: RawRoutes): HealthSettings {
  const h = raw.health ?? {};
  return {
    intervalMs: h.interval_ms ?? DEFAULT_HEALTH.intervalMs,
    timeoutMs: h.timeout_ms ?? DEFAULT_HEALTH.timeoutMs,
    unhealthyAfter: h.unhealthy_after ?? DEFAULT_HEALTH.unhealthyAfter,
    healthyAfter: h.healthy_after ?? DEFAULT_HEALTH.healthyAfter,
  };
}

function reject(source: string, problems: readonly Problem[]): never {
  const listed = problems.slice(0, MAX_LISTED).map((p) => `${p.field}: ${p.message}`);
  const more = problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more` : '';
  throw new RoutesFileError(`routes file ${source} rejected: ${listed.join('; ')}${more}`, problems[0]?.field ?? '(file)');
}

/**
 * Validates a parsed routes document.
 * @param source the file name, for the message.
 * @throws RoutesFileError listing the first problems (at most 5), each with its field.
 */
export function routesFromDocument(doc: unknown, source: string, ctx: RoutesContext): RouteTable {
  if (!validate(doc)) reject(source, (validate.errors ?? []).map(schemaProblem));
  const raw = doc as RawRoutes;
  const problems: Problem[] = [];
  const routes = checkRoutes(raw, ctx, problems);
  if (problems.length > 0) reject(source, problems);
  const byId = new Map(routes.map((r) => [r.id, r]));
  return new RouteTable(routes, raw.listeners_default === undefined ? undefined : byId.get(raw.listeners_default), healthOf(raw));
}

/**
 * Parses the text of a routes file: JSON when `source` ends in `.json`, YAML otherwise (duplicate keys refused).
 * @throws RoutesFileError naming the line when the text does not parse, or as {@link routesFromDocument}.
 */
export function parseRoutes(text: string, source: string, ctx: RoutesContext): RouteTable {
  let doc: unknown;
  try {
    doc = extname(source).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
  } catch (e) {
    throw new RoutesFileError(`routes file ${source} rejected: not valid ${extname(source).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message.split('\n')[0]}`, '(file)');
  }
  return routesFromDocument(doc, source, ctx);
}

/**
 * Reads and validates the routes file at `path` (at most {@link MAX_ROUTES_FILE_BYTES}).
 * @throws RoutesFileError when it cannot be read, is too large, does not parse or fails validation.
 */
export async function loadRoutesFile(path: string, ctx: RoutesContext): Promise<RouteTable> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new RoutesFileError(`routes file ${path} could not be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, '(file)');
  }
  if (bytes.length > MAX_ROUTES_FILE_BYTES) throw new RoutesFileError(`routes file ${path} rejected: ${bytes.length} bytes, more than ${MAX_ROUTES_FILE_BYTES}`, '(file)');
  return parseRoutes(bytes.toString('utf8'), path, ctx);
}
