/**
 * The native stack (collector, Prometheus, Pushgateway) for the e2e suite, in a private state
 * directory so that it never adopts or stops a stack someone else started from `.stack/`.
 *
 * Started once per run by e2e/global-setup.ts when vitest's e2e project lists it as globalSetup;
 * otherwise {@link useStack} starts it for the test file that needs it and stops it afterwards.
 * Either way a last-resort hook (test/last-resort.ts) SIGKILLs whatever is still running on exit
 * or interrupt, so a crashed or interrupted run leaves nothing behind.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, inject } from 'vitest';
import { procStartTicks, startPart, startStack, stopPart, stopStack, type PartName, type StackOptions } from '../../otel-config/stack.ts';
import { onLastResort } from '../../test/last-resort.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** State directory of the stack started by e2e/global-setup.ts. */
    otelContractsE2eStack: string;
  }
}

/** Key under which global-setup provides the state directory. */
export const STACK_KEY = 'otelContractsE2eStack';

/** Unregisters the last-resort cleanup of each stack this process started, by state directory. */
const lastResort = new Map<string, () => void>();

/** The stack's own log lines during e2e runs (warnings and up unless LOG_LEVEL says otherwise), on stderr. */
const logger = pino({ name: 'e2e-stack', level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));

function stackOptions(stateDir: string): StackOptions {
  return { stateDir, fresh: true, readyTimeoutMs: 60_000, logger, out: () => undefined };
}

/** SIGKILLs the parts recorded in `stateDir` (synchronous: usable from an `exit` listener). */
export function killParts(stateDir: string): void {
  let files: string[];
  try {
    files = readdirSync(stateDir).filter((f) => f.endsWith('.json'));
  } catch {
    return;
  }
  for (const f of files) {
    try {
      const rec = JSON.parse(readFileSync(join(stateDir, f), 'utf8')) as { pid?: unknown; startTicks?: unknown };
      if (typeof rec.pid !== 'number') continue;
      if (rec.startTicks && procStartTicks(rec.pid) !== rec.startTicks) continue;
      process.kill(rec.pid, 'SIGKILL');
    } catch {
      // gone or unreadable
    }
  }
}

/**
 * Starts the whole stack in a fresh private state directory and returns that directory.
 * @throws Error that names the part and what to do (a taken port: someone else's stack; a missing
 *   binary: provision first). Nothing stays running when it throws.
 */
export async function startE2eStack(): Promise<string> {
  const stateDir = mkdtempSync(join(tmpdir(), 'otel-contracts-e2e-'));
  lastResort.set(
    stateDir,
    onLastResort(() => {
      killParts(stateDir);
      removeStateDir(stateDir);
    }),
  );
  try {
    await startStack(stackOptions(stateDir));
  } catch (e) {
    killParts(stateDir);
    removeStateDir(stateDir, true);
    lastResort.get(stateDir)?.();
    lastResort.delete(stateDir);
    throw new Error(
      `e2e: the stack could not start.\n${(e as Error).message}\n` +
        '  -> if another stack runs on these ports (`otel-contracts stack status`, or someone else\'s e2e run), wait for it or stop it; ' +
        'if a binary is missing, run `CI=true bash otel-config/provision.sh all`.',
    );
  }
  return stateDir;
}

/**
 * Stops every part of the stack in `stateDir` and removes the directory (kept, with the parts' logs,
 * when OTEL_CONTRACTS_E2E_KEEP=1).
 */
export async function stopE2eStack(stateDir: string): Promise<void> {
  try {
    await stopStack(stackOptions(stateDir));
  } finally {
    killParts(stateDir);
    removeStateDir(stateDir);
    lastResort.get(stateDir)?.();
    lastResort.delete(stateDir);
  }
}

/** Removes the state directory unless OTEL_CONTRACTS_E2E_KEEP=1 (then its logs stay for a look). */
function removeStateDir(stateDir: string, always = false): void {
  if (always || process.env.OTEL_CONTRACTS_E2E_KEEP !== '1') rmSync(stateDir, { recursive: true, force: true });
}

/** Handle on the running stack, from {@link useStack}. */
export interface StackHandle {
  /** The stack's state directory (PID files, logs). Valid from beforeAll on. */
  stateDir(): string;
  /** Stops one part (the collector, for the outage test). */
  stopPart(name: PartName): Promise<boolean>;
  /** Starts one part again and waits until it is ready. */
  startPart(name: PartName): Promise<void>;
  /** The last lines of a part's log, for failure messages. */
  logTail(name: PartName, lines?: number): string;
}

/**
 * Makes the stack available to the calling test file: the run's stack when global-setup started one,
 * else one started in beforeAll and stopped in afterAll (also when a test failed).
 */
export function useStack(): StackHandle {
  let dir: string | undefined;
  let owned = false;
  beforeAll(async () => {
    const provided = inject(STACK_KEY);
    if (provided) {
      dir = provided;
    } else {
      dir = await startE2eStack();
      owned = true;
    }
  });
  afterAll(async () => {
    if (owned && dir) await stopE2eStack(dir);
  });
  const need = (): string => {
    if (!dir) throw new Error('the e2e stack is not started (useStack() must be called at the top of the test file)');
    return dir;
  };
  return {
    stateDir: need,
    stopPart: (name) => stopPart(name, stackOptions(need())),
    async startPart(name) {
      await startPart(name, { ...stackOptions(need()), fresh: false });
    },
    logTail(name, lines = 20) {
      try {
        return readFileSync(join(need(), `${name}.log`), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
      } catch {
        return '(no log)';
      }
    },
  };
}
