import type { HotPath } from '../hot-path.ts';
import { FLOOR, OTEL_SDK, OURS, PROM_CLIENT, PROM_IO, ourRecorders, promLibrary, sdkMeter } from './peers.ts';

/**
 * The preload's per-request work: both node:http diagnostics-channel events of one request
 * (bench/support/http-events.ts: real IncomingMessage and ServerResponse objects, no sockets) into the
 * preload's HTTP collector, against the same subscriber written on each Prometheus client and on the bare
 * SDK, the events with no subscriber (`node:http alone`), and the floor every HTTP metrics subscriber
 * pays: both channels subscribed and each request timed, nothing recorded.
 */

/** The events' cost with no subscriber: what node:http does per request anyway. */
export const NODE_HTTP_ALONE = 'node:http alone';

export const HTTP_REQUEST_PATH: HotPath = {
  id: 'http-request',
  title: 'http request, both events (the preload)',
  unit: 'instructions per request',
  warmup: 100_000,
  counts: [500, 1_000, 2_000],
  implementations: [
    {
      name: NODE_HTTP_ALONE,
      async setup() {
        const { requestEvents } = await import('../../support/http-events.ts');
        return requestEvents;
      },
    },
    {
      name: FLOOR,
      async setup() {
        const { requestEvents } = await import('../../support/http-events.ts');
        const diagnostics = await import('node:diagnostics_channel');
        const started = Symbol('start');
        type Timed = { [started]?: number };
        let seconds = 0;
        diagnostics.subscribe('http.server.request.start', (m) => {
          (m as { request: Timed }).request[started] = performance.now();
        });
        diagnostics.subscribe('http.server.response.finish', (m) => {
          const t0 = (m as { request: Timed }).request[started];
          if (t0 !== undefined) seconds += (performance.now() - t0) / 1000;
        });
        return (i: number) => {
          requestEvents(i);
          if (seconds < 0) throw new Error('unreachable: keeps the sum alive');
        };
      },
    },
    ...[PROM_IO, PROM_CLIENT].map((name) => ({
      name,
      async setup() {
        const { promRequestMetrics, requestEvents } = await import('../../support/http-events.ts');
        promRequestMetrics(await promLibrary(name as typeof PROM_IO))();
        return requestEvents;
      },
    })),
    {
      name: OTEL_SDK,
      async setup() {
        const { requestEvents, subscribeRequestMetrics } = await import('../../support/http-events.ts');
        const meter = await sdkMeter('bare-http');
        const requests = meter.createCounter('trc_http_requests_total');
        const duration = meter.createHistogram('trc_http_request_duration_seconds');
        subscribeRequestMetrics((seconds, labels) => {
          requests.add(1, labels);
          duration.record(seconds, labels);
        });
        return requestEvents;
      },
    },
    {
      name: OURS,
      async setup() {
        const { requestEvents, BENCH_ROUTES } = await import('../../support/http-events.ts');
        const { startHttpServerCollector } = await import('../../../collectors/http-server/collector.ts');
        const { trc } = await import('../../../semconv/generated/trc.ts');
        startHttpServerCollector(await ourRecorders(trc), { routes: BENCH_ROUTES });
        return requestEvents;
      },
    },
  ],
};
