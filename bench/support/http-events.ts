import diagnostics from 'node:diagnostics_channel';
import { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type promClient from 'prom-client';
import { methodLabel } from '../../collectors/http-server/method.ts';
import { statusLabel } from '../../collectors/http-server/status.ts';
import { compileTemplates } from '../../collectors/http-server/templates.ts';
import { PROM_BUCKETS } from './bench-contract.ts';

/**
 * The two diagnostics-channel events node:http publishes per request once they have a subscriber
 * (`http.server.request.start`, `http.server.response.finish`), on real IncomingMessage / ServerResponse
 * objects, without sockets or parsing: what a metrics subscriber costs per request, apart from the server.
 */
const start = diagnostics.channel('http.server.request.start');
const finish = diagnostics.channel('http.server.response.finish');
const server = new Server();
const socket = new Socket();
const METHODS = ['GET', 'POST', 'GET', 'PUT'];
const STATUSES = [200, 200, 404, 500];

/** One request through both events, as node:http publishes them: method, URL and status vary with `i`. */
export function requestEvents(i: number): void {
  const request = new IncomingMessage(socket);
  request.method = METHODS[i & 3] as string;
  request.url = `/users/${i & 1023}`;
  const response = new ServerResponse(request);
  response.statusCode = STATUSES[(i >> 2) & 3] as number;
  if (start.hasSubscribers) start.publish({ request, response, socket, server });
  if (finish.hasSubscribers) finish.publish({ request, response, socket, server });
}

/** The route template of the benchmark's requests, configured in every subscriber. */
export const BENCH_ROUTES = '/users/:id';

/** Labels of one finished request, derived as the preload's collector derives them (method, template, status). */
export type RequestLabels = { method: string; path_template: string; status: string };

/**
 * Subscribes a minimal request-metrics subscriber written against another library: it times the request
 * from start to finish, labels it as the preload does, and hands both to `record` (seconds, labels).
 * @returns the unsubscribe function.
 */
export function subscribeRequestMetrics(record: (seconds: number, labels: RequestLabels) => void): () => void {
  const templates = compileTemplates(BENCH_ROUTES);
  const started = Symbol('start');
  type Timed = IncomingMessage & { [started]?: number };
  const onStart = (message: unknown) => {
    const req = (message as { request: Timed }).request;
    req[started] = performance.now();
  };
  const onFinish = (message: unknown) => {
    const { request, response } = message as { request: Timed; response: ServerResponse };
    const t0 = request[started];
    if (t0 === undefined) return;
    const labels = { method: methodLabel(request.method), path_template: templates.match(request.url ?? '/') ?? 'unmatched', status: statusLabel(response.statusCode) };
    record((performance.now() - t0) / 1000, labels);
  };
  diagnostics.subscribe('http.server.request.start', onStart);
  diagnostics.subscribe('http.server.response.finish', onFinish);
  return () => {
    diagnostics.unsubscribe('http.server.request.start', onStart);
    diagnostics.unsubscribe('http.server.response.finish', onFinish);
  };
}

/**
 * The same subscriber on a Prometheus client (prom-client or `@prometheus-io/client`, which share its API):
 * `trc_http_requests_total` and `trc_http_request_duration_seconds` in a registry of their own.
 * @returns the subscribe function (which returns the unsubscribe function).
 */
export function promRequestMetrics(lib: typeof promClient): () => () => void {
  const registers = [new lib.Registry()];
  const labelNames = ['method', 'path_template', 'status'];
  const requests = new lib.Counter({ name: 'trc_http_requests_total', help: 'h', labelNames, registers });
  const duration = new lib.Histogram({ name: 'trc_http_request_duration_seconds', help: 'h', labelNames, buckets: PROM_BUCKETS, registers });
  return () =>
    subscribeRequestMetrics((seconds, labels) => {
      requests.inc(labels);
      duration.observe(labels, seconds);
    });
}
