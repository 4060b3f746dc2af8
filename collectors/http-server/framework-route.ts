import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { guarded } from '../safe.ts';
import { hookKoaMatchedRoute } from './koa-route.ts';

/** Where a framework's matched route template is left on the raw request (node:http `IncomingMessage`). */
export const MATCHED_ROUTE: unique symbol = Symbol('otel-contracts.matchedRoute');
/** Express mount templates of one request: raw `req.baseUrl` → its template (null when not a string pattern). */
const MOUNTS: unique symbol = Symbol('otel-contracts.expressMounts');

type RouteCarrier = IncomingMessage & {
  [MATCHED_ROUTE]?: string;
  [MOUNTS]?: Map<string, string | null>;
  route?: { path?: unknown };
  baseUrl?: unknown;
};

/** Joins a mount template and a route path: `/api` + `/items/:id`; a `/` route under a mount is the mount itself. */
export function joinRoute(base: string, path: string): string {
  const b = base.endsWith('/') ? base.slice(0, -1) : base;
  const p = path === '/' && b !== '' ? '' : path;
  return b + p || '/';
}

/**
 * The route template a framework matched for this request, read at response time, without app changes:
 *
 * - fastify (v5): `route.url` of the `tracing:fastify.request.handler:start` channel, left on `request.raw`
 *   by {@link subscribeFrameworkRoutes}; it already includes plugin prefixes.
 * - koa with `@koa/router` / `koa-router`: `ctx._matchedRoute`, copied onto `ctx.req` (see koa-route.ts).
 * - express (4 and 5): `req.route.path`. Under a mounted router (`req.baseUrl` not empty) the mount's
 *   template comes from the `tracing:express.router.request:start` channel of router >= 2.3 (express 5),
 *   since `req.baseUrl` holds the raw, possibly parameterised, prefix; without that channel a mounted route
 *   yields undefined rather than a raw path.
 *
 * @returns the template, or undefined when no framework route is known (the caller falls back).
 */
export function frameworkRoute(req: IncomingMessage): string | undefined {
  const r = req as RouteCarrier;
  const fromChannel = r[MATCHED_ROUTE];
  if (fromChannel !== undefined) return fromChannel;
  const path = r.route?.path;
  if (typeof path !== 'string') return undefined; // no route, or an array / RegExp route
  const base = typeof r.baseUrl === 'string' ? r.baseUrl : '';
  if (base === '') return path;
  const mount = r[MOUNTS]?.get(base);
  return typeof mount === 'string' ? joinRoute(mount, path) : undefined;
}

interface ExpressTraceContext {
  req?: RouteCarrier;
  layer?: { route?: unknown };
  route?: unknown;
}

const onExpressLayer = guarded((message: unknown): void => {
  const ctx = message as ExpressTraceContext;
  const req = ctx.req;
  if (!req || ctx.layer?.route) return;
  const raw = typeof req.baseUrl === 'string' ? req.baseUrl : '';
  let mounts = req[MOUNTS];
  if (!mounts) {
    mounts = new Map([['', '']]);
    req[MOUNTS] = mounts;
  }
  if (mounts.has(raw)) return;
  // The parent mount is the longest known raw prefix of this one.
  let parent: string | null = '';
  let parentLen = -1;
  for (const [k, v] of mounts) {
    if (k.length > parentLen && raw.startsWith(k)) {
      parent = v;
      parentLen = k.length;
    }
  }
  mounts.set(raw, parent !== null && typeof ctx.route === 'string' ? joinRoute(parent, ctx.route) : null);
});

const onFastifyHandler = guarded((message: unknown): void => {
  const store = message as { request?: { raw?: RouteCarrier }; route?: { url?: unknown } };
  const raw = store.request?.raw;
  const url = store.route?.url;
  if (raw && typeof url === 'string') raw[MATCHED_ROUTE] = url;
});

const EXPRESS = 'tracing:express.router.request:start';
const FASTIFY = 'tracing:fastify.request.handler:start';

/**
 * Subscribes to the frameworks' own diagnostics channels (express router, fastify) and hooks koa's
 * context (koa has no channel) so that {@link frameworkRoute} can name the matched template. Subscribing
 * makes those frameworks publish per-layer / per-handler events, a small per-request cost that only
 * apps using them pay. Call it before the app loads koa.
 * @returns a function unsubscribing and unhooking.
 */
export function subscribeFrameworkRoutes(): () => void {
  diagnostics.subscribe(EXPRESS, onExpressLayer);
  diagnostics.subscribe(FASTIFY, onFastifyHandler);
  const unhookKoa = hookKoaMatchedRoute(MATCHED_ROUTE);
  return () => {
    diagnostics.unsubscribe(EXPRESS, onExpressLayer);
    diagnostics.unsubscribe(FASTIFY, onFastifyHandler);
    unhookKoa();
  };
}
