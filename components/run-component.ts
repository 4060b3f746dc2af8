import { CommanderError } from 'commander';

/**
 * Runs a component's start-up from its command line (`npm start`, `node components/<x>/main.ts`,
 * `otel-contracts masque-vpn`): `--help` and flag errors exit with commander's code; any other failure to
 * start prints the one plain line a user reads, `<what> did not start: <reason>`, and exits 1.
 */
export async function runComponent(what: string, start: () => Promise<unknown>): Promise<void> {
  try {
    await start();
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode);
    process.stderr.write(`${what} did not start: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
