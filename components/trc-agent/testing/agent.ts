/**
 * Test support: a trc-agent started in the test's own process (its /metrics on a free loopback port, a
 * scrape rate limit high enough for polling), its log lines kept as objects, and a strict scrape.
 */
import { pino } from 'pino';
import { readExposition, type Exposition, type SampleLine } from '../../../test/exposition.ts';
import { pollUntil } from '../../../test/poll.ts';
import { runTrcAgent, type TrcAgent } from '../main.ts';

/** One log line of the agent (pino's JSON object: `msg`, `level` 30 info / 40 warn, `subject`, ...). */
export type LogLine = Readonly<Record<string, unknown>> & { readonly msg: string; readonly level: number };

/** An agent under test. */
export interface AgentUnderTest {
  readonly agent: TrcAgent;
  /** Every log line so far. */
  logs(): LogLine[];
  /** Log lines whose `msg` matches `re`. */
  logsMatching(re: RegExp): LogLine[];
  /** GET /metrics, parsed strictly (a malformed exposition throws). */
  scrape(): Promise<Exposition & { text: string }>;
  close(): Promise<void>;
}

/** The documented histograms of the trc contract, so their `_bucket` lines fold into their family. */
const HISTOGRAMS = new Set(['trc_agent_instance_boot_seconds', 'trc_agent_image_pull_seconds', 'trc_agent_rootdisk_build_seconds', 'trc_agent_secrets_delivery_seconds', 'trc_agent_snapshot_seconds', 'trc_agent_backup_seconds']);

/**
 * Starts `runTrcAgent` with `args` plus `--metrics 127.0.0.1:0`.
 * @throws whatever `runTrcAgent` throws (a bad flag, an unreadable mount).
 */
export async function startAgent(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; wgCommand?: string } = {}): Promise<AgentUnderTest> {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  const env = { OTEL_CONTRACTS_SCRAPE_RATE_LIMIT: '1000:1000', ...opts.env };
  const agent = await runTrcAgent([...args, '--metrics', '127.0.0.1:0'], env, { logger, ...(opts.wgCommand ? { wgCommand: opts.wgCommand } : {}) });
  return {
    agent,
    logs: () => [...lines],
    logsMatching: (re) => lines.filter((l) => re.test(l.msg)),
    async scrape() {
      const res = await fetch(agent.metricsUrl, { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`GET ${agent.metricsUrl}: HTTP ${res.status} ${text.slice(0, 200)}`);
      return { ...readExposition(text, HISTOGRAMS), text };
    },
    close: () => agent.close(),
  };
}

/** The value of the one sample `name{labels}` (labels matched exactly, instance labels aside), or undefined. */
export function valueOf(samples: readonly SampleLine[], name: string, labels: Record<string, string> = {}): number | undefined {
  const own = (l: Readonly<Record<string, string>>) => Object.fromEntries(Object.entries(l).filter(([k]) => k !== 'node_id'));
  const hits = samples.filter((s) => s.name === name && JSON.stringify(own(s.labels)) === JSON.stringify(labels));
  if (hits.length > 1) throw new Error(`${hits.length} samples of ${name}${JSON.stringify(labels)}`);
  return hits[0]?.value;
}

/**
 * Waits until `count()` has grown by `n` from its value now: `n` more background rounds (cache walks,
 * `wg` reads) have finished, so a change made before the call has been seen by at least `n - 1` of them.
 */
export async function roundsPass(what: string, count: () => number, n = 2): Promise<void> {
  const from = count();
  await pollUntil(`${n} more ${what}`, async () => count(), (c) => c >= from + n, { timeoutMs: 20_000, intervalMs: 20 });
}
