import { stopAllProcesses } from '../../test/processes.ts';

/**
 * Runs a benchmark's `main`: Ctrl-C stops every process it started and exits 130; a failure is printed
 * and sets exit code 1; whatever happens, the processes it started are stopped at the end.
 */
export async function runBench(name: string, main: () => Promise<void>): Promise<void> {
  process.once('SIGINT', () => void stopAllProcesses(3_000).then(() => process.exit(130)));
  try {
    await main();
  } catch (err) {
    console.error(`${name} failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  } finally {
    await stopAllProcesses(3_000);
  }
}
