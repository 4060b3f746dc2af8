/**
 * A small OTLP/HTTP metrics receiver: `POST /v1/metrics` on a loopback address, decoding each request
 * (protobuf or JSON, optionally gzip) and handing it over. It answers 200 with an empty
 * `ExportMetricsServiceResponse` in the request's encoding, 400 with a `google.rpc.Status` for an
 * undecodable body, 413 over the body cap, 415 for other content types, 404/405 elsewhere.
 * Used by `otel-contracts check --otlp-listen` and by the pipeline's own push tests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { assertBindAllowed } from '../../../instrumentation/scrape/server.ts';
import { decodeMetricsRequest, encodeMetricsResponse, encodeStatus, otlpEncodingOf, OtlpDecodeError, type OtlpMetricsRequest } from './decode.ts';
import { listen } from '../../kit/listen.ts';

/** The `Content-Type` of a response in each OTLP/HTTP encoding. */
const CONTENT_TYPE = { protobuf: 'application/x-protobuf', json: 'application/json' } as const;

/** Default cap on a request body, compressed or not: 16 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Options of {@link startOtlpReceiver}. */
export interface OtlpReceiverOptions {
  /** Bind address; loopback unless `allowNonLoopback` (default 127.0.0.1). */
  readonly host?: string;
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  readonly allowNonLoopback?: boolean;
  /** Largest accepted body in bytes, before and after gunzip (default {@link DEFAULT_MAX_BODY_BYTES}). */
  readonly maxBodyBytes?: number;
  /** Keep decoded requests in {@link OtlpReceiver.requests} (default true; turn off when `onRequest` consumes them). */
  readonly keep?: boolean;
  /** Called with each decoded request, before the response is sent. */
  readonly onRequest?: (request: OtlpMetricsRequest, meta: OtlpRequestMeta) => void;
  /** Called for each request refused (4xx), with the reason sent back. */
  readonly onError?: (error: OtlpReceiveError) => void;
}

/** What the receiver knows of one accepted request. */
export interface OtlpRequestMeta {
  readonly encoding: 'protobuf' | 'json';
  /** Body size on the wire, in bytes. */
  readonly bytes: number;
  readonly gzip: boolean;
}

/** A refused request: HTTP status and the reason sent to the client. */
export interface OtlpReceiveError {
  readonly status: number;
  readonly reason: string;
}

/** A running receiver. */
export interface OtlpReceiver {
  /** `http://HOST:PORT/v1/metrics`. */
  readonly url: string;
  /** `http://HOST:PORT`: what `OTEL_EXPORTER_OTLP_ENDPOINT` should be set to. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
  /** Decoded requests, in arrival order (empty when `keep: false`). */
  readonly requests: readonly OtlpMetricsRequest[];
  /** Requests refused so far. */
  readonly errors: readonly OtlpReceiveError[];
  /** Resolves with the next decoded request (for tests). */
  nextRequest(): Promise<OtlpMetricsRequest>;
  /** Stops listening and closes idle connections. */
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/**
 * Starts the receiver.
 * @returns the running receiver once it listens.
 * @throws NonLoopbackBindError for a non-loopback host without `allowNonLoopback`; the listen error (EADDRINUSE).
 */
export async function startOtlpReceiver(opts: OtlpReceiverOptions = {}): Promise<OtlpReceiver> {
  const host = opts.host ?? '127.0.0.1';
  assertBindAllowed(host, opts.allowNonLoopback ?? false);
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const keep = opts.keep ?? true;
  const requests: OtlpMetricsRequest[] = [];
  const errors: OtlpReceiveError[] = [];
  let waiters: ((r: OtlpMetricsRequest) => void)[] = [];

  const refuse = (res: ServerResponse, encoding: 'protobuf' | 'json', status: number, reason: string, headers: Record<string, string> = {}): void => {
    const e = { status, reason };
    errors.push(e);
    opts.onError?.(e);
    const body = encodeStatus(encoding, status === 400 ? 3 : 9, reason);
    res.writeHead(status, { 'Content-Type': CONTENT_TYPE[encoding], ...headers, 'Content-Length': body.length, Connection: 'close' });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    const encoding = otlpEncodingOf(req.headers['content-type']);
    if (path !== '/v1/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: OTLP metrics are received at POST /v1/metrics\n');
      req.resume();
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/plain' }).end('method not allowed: POST an ExportMetricsServiceRequest\n');
      req.resume();
      return;
    }
    if (!encoding) {
      req.resume();
      refuse(res, 'json', 415, `unsupported content type "${req.headers['content-type'] ?? ''}": use application/x-protobuf or application/json`);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, max);
    } catch (err) {
      if (err instanceof BodyTooLarge) refuse(res, encoding, 413, `request body larger than ${max} bytes`);
      else res.destroy();
      return;
    }
    const wireBytes = body.length;
    const contentEncoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    const gzip = contentEncoding === 'gzip';
    if (gzip) {
      try {
        body = gunzipSync(body, { maxOutputLength: max });
      } catch (err) {
        const tooLarge = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || /buffer|max/i.test((err as Error).message);
        refuse(res, encoding, tooLarge ? 413 : 400, tooLarge ? `gunzipped request body larger than ${max} bytes` : `invalid gzip body: ${(err as Error).message}`);
        return;
      }
    } else if (contentEncoding !== 'identity') {
      refuse(res, encoding, 415, `unsupported Content-Encoding "${contentEncoding}": use gzip or none`);
      return;
    }
    let decoded: OtlpMetricsRequest;
    try {
      decoded = decodeMetricsRequest(body, req.headers['content-type']);
    } catch (err) {
      refuse(res, encoding, 400, err instanceof OtlpDecodeError ? err.message : `cannot decode request: ${(err as Error).message}`);
      return;
    }
    if (keep) requests.push(decoded);
    opts.onRequest?.(decoded, { encoding, bytes: wireBytes, gzip });
    const w = waiters;
    waiters = [];
    for (const f of w) f(decoded);
    const out = encodeMetricsResponse(encoding);
    res.writeHead(200, { 'Content-Type': CONTENT_TYPE[encoding], 'Content-Length': out.length });
    res.end(out);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const { port } = await listen(server, { host, port: opts.port ?? 0 });
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const endpoint = `http://${urlHost}:${port}`;
  return {
    url: `${endpoint}/v1/metrics`,
    endpoint,
    host,
    port,
    requests,
    errors,
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
