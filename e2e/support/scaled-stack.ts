/**
 * The scaled topology (HAProxy, gateway and backend collectors, vmagent, VictoriaMetrics shards) for a test
 * or a benchmark, started through the same API as `otel-contracts stack up --topology scaled`, in a private
 * state directory and with every port moved by an offset, so that it runs beside the e2e suite's single-node
 * stack on the usual ports. A last-resort hook SIGKILLs its processes if the run dies before `stop()`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startPart, startStack, stopPart, stopStack, type RoleName, type StackInfo, type StackOptions } from '../../otel-config/stack.ts';
import { onLastResort } from '../../test/last-resort.ts';
import { killParts } from './stack.ts';

/** Where the scaled stack of the e2e suite lives: every port + 10000 (HAProxy on 14317/14318, shards on 18428, 18438). */
export const E2E_PORT_OFFSET = 10_000;

/** Options of {@link startScaledStack}. */
export interface ScaledStackOptions {
  readonly gateways?: number;
  readonly backends?: number;
  readonly shards?: number;
  /** Default {@link E2E_PORT_OFFSET}. */
  readonly portOffset?: number;
}

/** A running scaled stack. */
export interface ScaledStack {
  readonly stateDir: string;
  /** The options every call about this stack takes (state directory, topology, layout). */
  readonly options: StackOptions;
  readonly info: StackInfo;
  /** HAProxy's OTLP/HTTP ingress (`http://127.0.0.1:14318`). */
  readonly otlpHttpEndpoint: string;
  /** Each shard's base URL, in shard order. */
  readonly shardUrls: readonly string[];
  /** The PID of a running part (from its PID file). */
  pid(name: RoleName): number;
  /** Stops one part (an outage); resolves to whether it was running. */
  stopPart(name: RoleName): Promise<boolean>;
  /** Starts one part again and waits until it is healthy. */
  startPart(name: RoleName): Promise<void>;
  /** The last lines of a part's log. */
  logTail(name: RoleName, lines?: number): string;
  /** Stops everything and removes the state directory (kept with OTEL_CONTRACTS_E2E_KEEP=1). */
  stop(): Promise<void>;
}

const logger = pino({ name: 'scaled-stack', level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));

/**
 * Starts the scaled topology in a fresh private state directory and waits until every process is healthy.
 * @throws Error naming the part that failed and what to do; nothing stays running then.
 */
export async function startScaledStack(opts: ScaledStackOptions = {}): Promise<ScaledStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'otel-contracts-scaled-'));
  const options: StackOptions = {
    stateDir,
    topology: 'scaled',
    scaled: { gateways: opts.gateways, backends: opts.backends, shards: opts.shards, portOffset: opts.portOffset ?? E2E_PORT_OFFSET },
    fresh: true,
    readyTimeoutMs: 60_000,
    logger,
    out: () => undefined,
  };
  const remove = (always = false) => {
    if (always || process.env.OTEL_CONTRACTS_E2E_KEEP !== '1') rmSync(stateDir, { recursive: true, force: true });
  };
  const unregister = onLastResort(() => {
    killParts(stateDir);
    remove();
  });
  let info: StackInfo;
  try {
    info = await startStack(options);
  } catch (e) {
    killParts(stateDir);
    remove(true);
    unregister();
    throw new Error(
      `the scaled topology could not start.\n${(e as Error).message}\n` +
        '  -> a taken port: another scaled stack (an e2e run, a bench) is up; a missing binary: run `npm run provision`.',
    );
  }
  const keep = { ...options, fresh: false };
  return {
    stateDir,
    options: keep,
    info,
    otlpHttpEndpoint: info.otlpHttpEndpoint,
    shardUrls: info.queryUrls,
    pid: (name) => (JSON.parse(readFileSync(join(stateDir, `${name}.json`), 'utf8')) as { pid: number }).pid,
    stopPart: (name) => stopPart(name, keep),
    async startPart(name) {
      await startPart(name, keep);
    },
    logTail(name, lines = 20) {
      try {
        return readFileSync(join(stateDir, `${name}.log`), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
    async stop() {
      try {
        await stopStack(keep);
      } finally {
        killParts(stateDir);
        remove();
        unregister();
      }
    },
  };
}
