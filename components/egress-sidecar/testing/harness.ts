import { pino, type Logger } from 'pino';
import { runEgressSidecar, type EgressSidecar } from '../main.ts';

/**
 * Starts the sidecar in-process for tests: ephemeral ports on loopback, a generous scrape rate limit,
 * and a pino logger whose lines are kept for assertions.
 */

/** A log line as pino wrote it. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A sidecar started by {@link startSidecar}. */
export interface TestSidecar {
  readonly sidecar: EgressSidecar;
  readonly dnsPort: number;
  readonly httpPort: number;
  readonly logs: LogLine[];
  readonly base: string;
  /** The sidecar's `/metrics` URL. */
  readonly metricsUrl: string;
}

/** A pino logger that keeps every line in `lines`. */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

/**
 * Starts a sidecar forwarding to `upstreams` (`HOST:PORT`), with `env` over a clean base environment
 * (no inherited OTEL_* or OPENSANDBOX_* variables).
 */
export async function startSidecar(upstreams: readonly string[], env: NodeJS.ProcessEnv = {}, extraArgs: readonly string[] = []): Promise<TestSidecar> {
  const { logger, lines } = captureLogger();
  const args = ['--dns-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', ...upstreams.flatMap((u) => ['--upstream', u]), ...extraArgs];
  const sidecar = await runEgressSidecar(args, { PATH: process.env.PATH, OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000', OPENSANDBOX_EGRESS_INSTANCE_ID: 'test-sidecar', ...env }, { logger });
  const base = `http://127.0.0.1:${sidecar.httpAddress.port}`;
  return { sidecar, dnsPort: sidecar.dnsAddress.port, httpPort: sidecar.httpAddress.port, logs: lines, base, metricsUrl: `${base}/metrics` };
}
