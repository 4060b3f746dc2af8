/**
 * The set-up most control-plane test files share: one throwaway PostgreSQL and the app on it for the
 * whole file, started before its tests and stopped after them.
 */
import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/postgres.ts';
import { stopAllProcesses, type ProcessEnv } from '../../../test/processes.ts';
import { startControlPlaneApp, type RunningControlPlane } from './harness.ts';

/** The database and the app running on it. */
export interface AppOnDatabase {
  readonly db: TestPostgres;
  readonly cp: RunningControlPlane;
}

/**
 * Registers the file's hooks: before its tests, a database and the app on it (60 s for both), handed to
 * `started` (the file keeps them in its own variables); after them, every process stopped (the app and
 * the database's server) and the database's directory deleted.
 * @param env overrides of the app's environment (see startControlPlaneApp).
 */
export function useAppOnDatabase(started: (running: AppOnDatabase) => void, env: ProcessEnv = {}): void {
  let db: TestPostgres | undefined;
  beforeAll(async () => {
    db = await startPostgres();
    started({ db, cp: await startControlPlaneApp(db.url, env) });
  }, 60_000);
  afterAll(async () => {
    await stopAllProcesses();
    await db?.stop();
  });
}
