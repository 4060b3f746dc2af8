/**
 * A reference trc control plane on PostgreSQL, instrumented with otel-contracts:
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres OTEL_CONTRACTS_APP_CONTRACTS=trc:control-plane,trc:projections \
 *     node --import otel-contracts/register examples/control-plane/main.ts     (npm run example:control-plane)
 *
 * Prints one JSON line on stdout when ready (`{"ready":true,"port":8088,...}`); logs (pino) on stderr.
 * SIGTERM or SIGINT: stops accepting requests, finishes those in flight, stops the projection worker,
 * closes the pool and exits 0; the preload makes the final push meanwhile. A second signal exits at once.
 * See README.md for the endpoints, the environment and the metrics.
 */
import { createLogger } from '../../instrumentation/logger.ts';
import { readConfig } from './config.ts';
import { startControlPlane } from './control-plane.ts';

const logger = createLogger('control-plane');
try {
  const config = readConfig();
  const plane = await startControlPlane(config, logger);
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(signal === 'SIGINT' ? 130 : 143);
    stopping = true;
    logger.info({ signal }, 'stopping');
    // Bound: whatever keeps the process alive past 10 s is cut (the preload's final push is bounded by 5 s).
    setTimeout(() => {
      logger.warn('still running 10 s after the signal: exiting');
      process.exit(1);
    }, 10_000).unref();
    plane.stop().then(
      () => logger.info('stopped'),
      (e: unknown) => {
        logger.error({ err: (e as Error).message }, 'stop failed');
        process.exitCode = 1;
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  console.log(JSON.stringify({ ready: true, role: config.role, ...(plane.api ? { host: plane.api.host, port: plane.api.port } : {}) }));
} catch (e) {
  process.stderr.write(`control plane did not start: ${(e as Error).message}\n`);
  process.exit(1);
}
