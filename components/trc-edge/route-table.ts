import type { HostPort } from '../kit/host-port.ts';

/**
 * The edge's routing configuration once loaded and validated (routes-file.ts), and how a connection finds
 * its route (seed 002, section F, "Routing config"):
 *
 * - `tls` routes are found by the ClientHello's SNI on a TLS listener (passthrough);
 * - `http` routes by the `Host` header (without a `:PORT`) on an HTTP listener;
 * - a TCP listener sends everything to `listeners_default`.
 *
 * A name matches a route's `sni` exactly (case-insensitive, a trailing dot ignored), or a wildcard
 * `*.example.com`, which stands for exactly one more label (`a.example.com`, not `example.com` nor
 * `a.b.example.com`), as in a certificate. An exact name wins over a wildcard.
 */

/** What a route carries (`protocol_hint` in the routes file; the `protocol_hint` label of `trc_edge_backends_active_by_protocol`). */
export type ProtocolHint = 'tls' | 'http' | 'tcp';

/** Every protocol hint, in label order. */
export const PROTOCOL_HINTS: readonly ProtocolHint[] = ['http', 'tls', 'tcp'];

/** One route: where connections for a name go. `id` is for logs and the file only, never a metric label. */
export interface Route {
  readonly id: string;
  /** Lower case, no trailing dot; `*.suffix` for a wildcard; undefined for a `tcp` route without one. */
  readonly sni: string | undefined;
  readonly protocolHint: ProtocolHint;
  /** In file order; round robin among the healthy ones. */
  readonly backends: readonly HostPort[];
  /** Write a PROXY protocol v2 header to the backend before the client's bytes. */
  readonly proxyV2: boolean;
}

/** Backend health checking (`health` in the routes file). Durations in milliseconds. */
export interface HealthSettings {
  /** Time between two checks of one backend. */
  readonly intervalMs: number;
  /** A check's TCP connect must succeed within this. */
  readonly timeoutMs: number;
  /** Consecutive failed checks that make a healthy backend unhealthy. */
  readonly unhealthyAfter: number;
  /** Consecutive good checks that make an unhealthy backend healthy again. */
  readonly healthyAfter: number;
}

/** The `health` defaults. */
export const DEFAULT_HEALTH: HealthSettings = { intervalMs: 2000, timeoutMs: 500, unhealthyAfter: 2, healthyAfter: 1 };

/**
 * What a client's name must look like to be looked up at all: a DNS name of at most 253 characters
 * (labels of letters, digits, `-` and `_`). An SNI may carry any bytes; such a name matches no route.
 */
const LOOKUP_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** A name as routes compare it: lower case, without one trailing dot. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** The active routes, indexed for lookup. Immutable: a reload builds a new table. */
export class RouteTable {
  readonly routes: readonly Route[];
  readonly health: HealthSettings;
  /** Where a TCP listener sends everything (`listeners_default`), if set. */
  readonly listenersDefault: Route | undefined;
  private readonly exact = new Map<string, Route>();
  private readonly wildcard = new Map<string, Route>();

  /** @param routes validated routes (ids and names unique per protocol hint; see routes-file.ts). */
  constructor(routes: readonly Route[], listenersDefault: Route | undefined, health: HealthSettings) {
    this.routes = routes;
    this.listenersDefault = listenersDefault;
    this.health = health;
    for (const r of routes) {
      if (r.sni === undefined || r.protocolHint === 'tcp') continue;
      if (r.sni.startsWith('*.')) this.wildcard.set(`${r.protocolHint} ${r.sni.slice(2)}`, r);
      else this.exact.set(`${r.protocolHint} ${r.sni}`, r);
    }
  }

  /** The route of `hint` (`tls` or `http`) for `name` (an SNI or a Host without port): exact first, then a wildcard. */
  find(hint: 'tls' | 'http', name: string): Route | undefined {
    const n = normalizeName(name);
    if (!LOOKUP_NAME.test(n)) return undefined;
    const hit = this.exact.get(`${hint} ${n}`);
    if (hit) return hit;
    const dot = n.indexOf('.');
    return dot > 0 ? this.wildcard.get(`${hint} ${n.slice(dot + 1)}`) : undefined;
  }

  /** Routes with `proxy_v2: true` (`trc_edge_proxy_v2_enabled_routes`). */
  proxyV2Routes(): number {
    return this.routes.filter((r) => r.proxyV2).length;
  }
}
