/**
 * The control plane's settings, read once from the environment. A bad value is a ConfigError naming the
 * variable and an example, so the process stops with one readable line instead of running half-configured.
 */
import { parseHostPort, type HostPort } from '../../components/kit/host-port.ts';
import { ConfigError } from '../../index.ts';

/** What this process runs: the API and the projection worker (`all`), or one of them. */
export type Role = 'all' | 'api' | 'worker';

/** One OAuth client allowed to ask for tokens (`CONTROL_PLANE_CLIENTS`). */
export interface ClientCredentials {
  readonly id: string;
  readonly secret: string;
}

/** Every setting of the control plane. Durations in the unit their name says. */
export interface ControlPlaneConfig {
  /** `DATABASE_URL`, required. */
  readonly databaseUrl: string;
  /** `CONTROL_PLANE_LISTEN`, default `127.0.0.1:8088`. */
  readonly listen: HostPort;
  /** `CONTROL_PLANE_CLIENTS=id:secret,...`, default `demo:demo-secret`. */
  readonly clients: readonly ClientCredentials[];
  /** `CONTROL_PLANE_ROLE`: `all` (default), `api` or `worker`. */
  readonly role: Role;
  /** `CONTROL_PLANE_DB_POOL_MAX`, default 10. */
  readonly poolMax: number;
  /** `CONTROL_PLANE_PROJECTION_POLL_MS`: pause between two polls of the events table when caught up, default 500. */
  readonly projectionPollMs: number;
  /** `CONTROL_PLANE_CATALOG_INTERVAL_MS`: least time between two catalog reads (table size, checkpoints), default 5000. */
  readonly catalogIntervalMs: number;
  /** `CONTROL_PLANE_ACCESS_TOKEN_TTL_S`, default 900. */
  readonly accessTokenTtlS: number;
  /** `CONTROL_PLANE_REFRESH_TOKEN_TTL_S`, default 30 days. */
  readonly refreshTokenTtlS: number;
  /** `CONTROL_PLANE_DEVICE_CODE_TTL_S`: how long a device code can be approved and polled, default 600. */
  readonly deviceCodeTtlS: number;
  /** `CONTROL_PLANE_DEVICE_POLL_INTERVAL_S`: the least time between two polls of one device code (RFC 8628 `interval`), default 5. */
  readonly devicePollIntervalS: number;
}

/** The demo client that exists unless `CONTROL_PLANE_CLIENTS` says otherwise. */
export const DEMO_CLIENT: ClientCredentials = { id: 'demo', secret: 'demo-secret' };

const ROLES: readonly Role[] = ['all', 'api', 'worker'];

/** A positive integer from `env[name]`, or `def` when unset; `min` bounds it below. */
function integer(env: NodeJS.ProcessEnv, name: string, def: number, min = 1): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min) throw new ConfigError(`${name}="${raw}": expected an integer >= ${min}, e.g. ${name}=${def}`);
  return n;
}

/**
 * Parses `id:secret,id2:secret2`. Ids are `[A-Za-z0-9._-]{1,64}`; a secret is anything after the first `:`
 * without a comma (at least 8 characters).
 * @throws ConfigError naming the entry that is malformed, or an id given twice.
 */
export function parseClients(raw: string | undefined): ClientCredentials[] {
  if (raw === undefined || raw.trim() === '') return [DEMO_CLIENT];
  const out: ClientCredentials[] = [];
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const at = entry.indexOf(':');
    const id = entry.slice(0, at);
    const secret = entry.slice(at + 1);
    if (at < 0 || !/^[A-Za-z0-9._-]{1,64}$/.test(id) || secret.length < 8) {
      throw new ConfigError(`CONTROL_PLANE_CLIENTS entry "${at < 0 ? entry : `${id}:…`}": expected id:secret with an id of [A-Za-z0-9._-] and a secret of 8 characters or more, e.g. CONTROL_PLANE_CLIENTS=demo:demo-secret,ci:another-secret`);
    }
    if (out.some((c) => c.id === id)) throw new ConfigError(`CONTROL_PLANE_CLIENTS: client "${id}" is listed twice`);
    out.push({ id, secret });
  }
  return out;
}

/**
 * Reads the configuration.
 * @throws ConfigError for a missing `DATABASE_URL` or any malformed value.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): ControlPlaneConfig {
  const databaseUrl = env.DATABASE_URL?.trim();
  if (!databaseUrl) throw new ConfigError('DATABASE_URL is not set: e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres');
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) throw new ConfigError('DATABASE_URL: expected a postgres:// URL, e.g. postgres://postgres@127.0.0.1:5432/postgres');
  const role = (env.CONTROL_PLANE_ROLE?.trim() || 'all') as Role;
  if (!ROLES.includes(role)) throw new ConfigError(`CONTROL_PLANE_ROLE="${env.CONTROL_PLANE_ROLE}": expected one of ${ROLES.join(', ')}`);
  return {
    databaseUrl,
    listen: parseHostPort(env.CONTROL_PLANE_LISTEN?.trim() || '127.0.0.1:8088', 'CONTROL_PLANE_LISTEN', 'listen'),
    clients: parseClients(env.CONTROL_PLANE_CLIENTS),
    role,
    poolMax: integer(env, 'CONTROL_PLANE_DB_POOL_MAX', 10),
    projectionPollMs: integer(env, 'CONTROL_PLANE_PROJECTION_POLL_MS', 500),
    catalogIntervalMs: integer(env, 'CONTROL_PLANE_CATALOG_INTERVAL_MS', 5000, 0),
    accessTokenTtlS: integer(env, 'CONTROL_PLANE_ACCESS_TOKEN_TTL_S', 900),
    refreshTokenTtlS: integer(env, 'CONTROL_PLANE_REFRESH_TOKEN_TTL_S', 30 * 24 * 3600),
    deviceCodeTtlS: integer(env, 'CONTROL_PLANE_DEVICE_CODE_TTL_S', 600),
    devicePollIntervalS: integer(env, 'CONTROL_PLANE_DEVICE_POLL_INTERVAL_S', 5),
  };
}
