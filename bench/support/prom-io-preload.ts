/**
 * A preload peer for bench/preload.bench.ts (`--import` this file): the preload's per-request HTTP metrics
 * (`trc_http_requests_total`, `trc_http_request_duration_seconds`, same labels and buckets) written on
 * `@prometheus-io/client`, the faster Prometheus client, on the same two node:http diagnostics channels.
 * Nothing else: no process or runtime collectors, no scrape endpoint.
 */
import type promClient from 'prom-client';
import promIo from '@prometheus-io/client';
import { promRequestMetrics } from './http-events.ts';

promRequestMetrics(promIo as unknown as typeof promClient)();
