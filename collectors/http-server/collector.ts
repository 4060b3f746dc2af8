import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { guarded, stopOnce } from '../safe.ts';
import type { Collector, TrcHttpRecorders } from '../types.ts';
import { frameworkRoute, subscribeFrameworkRoutes } from './framework-route.ts';
import { methodLabel } from './method.ts';
import { statusLabel } from './status.ts';
import { compileTemplates } from './templates.ts';

/** `path_template` of a request no framework route and no configured template matched. */
export const UNMATCHED = 'unmatched';

/** Options of {@link startHttpServerCollector}. */
export interface HttpServerOptions {
  /** Comma-separated configured templates (`OTEL_CONTRACTS_HTTP_ROUTES`), see templates.ts. */
  readonly routes?: string;
  /** Requests to the server listening on this port are not counted (the preload's own scrape endpoint); asked once per server. */
  readonly ignoreLocalPort?: () => number | undefined;
}

const START: unique symbol = Symbol('otel-contracts.requestStart');
type Timed = IncomingMessage & { [START]?: number };

/**
 * trc HTTP server metrics (seed 002 section A, "Availability and request metrics"):
 * `trc_http_requests_total` and `trc_http_request_duration_seconds` (seconds from the
 * `http.server.request.start` to the `http.server.response.finish` diagnostics channel events) with
 * `{method, path_template, status}`, for every node:http server in the process and the frameworks on it.
 *
 * - `path_template`: the framework's matched route (see framework-route.ts), else the first configured
 *   template matching the raw path, else `unmatched`. Never the raw path (trc forbids raw URLs as label
 *   values), so the series count is bounded by the app's routes plus the configured templates.
 * - `method`: the nine standard methods, else `_OTHER`. `status`: see {@link statusLabel}.
 * - Requests whose response never finishes (client gone) are not counted.
 */
export function startHttpServerCollector(rec: TrcHttpRecorders, opts: HttpServerOptions = {}): Collector {
  const templates = compileTemplates(opts.routes);
  const unsubscribeFrameworks = subscribeFrameworkRoutes();
  // Decided once per server: is it the one listening on the ignored port (the preload's scrape endpoint)?
  const decided = new WeakMap<object, boolean>();
  const ignored = (server: Server | undefined, req: IncomingMessage) => {
    const port = opts.ignoreLocalPort?.();
    if (port === undefined) return false;
    if (!server) return req.socket?.localPort === port;
    let yes = decided.get(server);
    if (yes === undefined) {
      const addr = server.address();
      yes = typeof addr === 'object' && addr !== null && addr.port === port;
      decided.set(server, yes);
    }
    return yes;
  };
  // guarded: a subscriber's throw would become an uncaught exception in the app
  const onStart = guarded((message: unknown) => {
    const req = (message as { request?: Timed }).request;
    if (req) req[START] = performance.now();
  });
  const onFinish = guarded((message: unknown) => {
    const { request, response, server } = message as { request?: Timed; response?: ServerResponse; server?: Server };
    if (!request || !response) return;
    const t0 = request[START];
    if (t0 === undefined || ignored(server, request)) return;
    const labels = {
      method: methodLabel(request.method),
      path_template: frameworkRoute(request) ?? templates.match(request.url ?? '/') ?? UNMATCHED,
      status: statusLabel(response.statusCode),
    };
    rec.trc_http_requests_total.add(1, labels);
    rec.trc_http_request_duration_seconds.record((performance.now() - t0) / 1000, labels);
  });
  diagnostics.subscribe('http.server.request.start', onStart);
  diagnostics.subscribe('http.server.response.finish', onFinish);
  return {
    name: 'http',
    source: templates.templates.length ? `diagnostics channels + ${templates.templates.length} configured templates` : 'diagnostics channels',
    stop: stopOnce(() => {
      diagnostics.unsubscribe('http.server.request.start', onStart);
      diagnostics.unsubscribe('http.server.response.finish', onFinish);
      unsubscribeFrameworks();
    }),
  };
}
