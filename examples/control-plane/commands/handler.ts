/**
 * Runs one command per request, in one transaction: claim the Idempotency-Key (when given), load the
 * app's stream, decide, then append the events, store the answer for the key and commit, which together
 * are the event append. Recorded:
 * - `trc_commands_total` / `trc_command_duration_seconds{command,result}`: once per command run (a
 *   request whose JSON body parsed and that is not answered from the key's stored answer): `success` when
 *   its events were committed, `failure` when it was refused (bad input, state) or the database failed;
 * - `trc_event_append_total` / `trc_event_append_duration_seconds{result}`: once per append attempted
 *   (events, stored answer and commit), `failure` when any of it failed;
 * - `trc_idempotency_hits_total{endpoint}` (the stored answer, replayed) and
 *   `trc_idempotency_conflicts_total{endpoint}` (409: the key was used for another request).
 */
import { performance } from 'node:perf_hooks';
import type { RequestHandler, Response } from 'express';
import type pg from 'pg';
import type { Logger } from '../../../instrumentation/logger.ts';
import { withTransaction, type Tx } from '../db/transaction.ts';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { ApiError, DATABASE_UNAVAILABLE, sendApiError } from '../http/api-error.ts';
import { authOf } from '../http/bearer.ts';
import type { TrcRecorders } from '../metrics.ts';
import type { AppEvent } from './app-events.ts';
import { appState } from './app-state.ts';
import type { CommandDef } from './definitions.ts';
import { appendEvents, loadStream } from './event-store.ts';
import { claimIdempotencyKey, idempotencyKeyOf, storeIdempotentAnswer, type KeyUse } from './idempotency.ts';
import { requestHash } from './request-hash.ts';

/** What a command handler needs. */
export interface CommandDeps {
  readonly pool: pg.Pool;
  readonly m: TrcRecorders;
  readonly logger: Logger;
}

/** How the request ended: the command ran (and answered `status`), or the key answered for it. */
type Outcome = { kind: 'ran'; status: number; body: unknown } | { kind: 'replay'; status: number; body: unknown } | { kind: 'conflict' };

/** Appends, stores the key's answer and commits: the event append, timed and counted. */
async function timedAppend(deps: CommandDeps, tx: Tx, stream: string, version: number, events: AppEvent[], store: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  let result: 'success' | 'failure' = 'failure';
  try {
    await appendEvents(tx, stream, version, events);
    await store();
    await tx.commit();
    result = 'success';
  } finally {
    deps.m.trc_event_append_total.add(1, { result });
    deps.m.trc_event_append_duration_seconds.record((performance.now() - t0) / 1000, { result });
  }
}

/** The transaction of one command request. */
function runCommand(deps: CommandDeps, def: CommandDef, input: unknown, use: KeyUse | undefined): Promise<Outcome> {
  return withTransaction(deps.pool, async (tx): Promise<Outcome> => {
    if (use) {
      const claim = await claimIdempotencyKey(tx, use);
      if (claim.kind !== 'claimed') return claim;
    }
    const stream = def.streamOf(input);
    const { version, events } = await loadStream(tx, stream);
    const decision = def.decide(appState(events), input);
    await timedAppend(deps, tx, stream, version, decision.events, () => (use ? storeIdempotentAnswer(tx, use, def.status, decision.body) : Promise.resolve()));
    return { kind: 'ran', status: def.status, body: decision.body };
  });
}

/** Answers a failed command. */
function sendCommandError(res: Response, logger: Logger, def: CommandDef, err: unknown): void {
  if (err instanceof ApiError) return sendApiError(res, err);
  if (isDatabaseUnavailable(err)) return sendApiError(res, DATABASE_UNAVAILABLE());
  logger.error({ err, command: def.name }, 'command failed');
  sendApiError(res, new ApiError(500, 'internal', 'internal error'));
}

/** The handler of `def`'s route (after the bearer check and the JSON body parser). */
export function commandHandler(def: CommandDef, deps: CommandDeps): RequestHandler {
  const { m } = deps;
  return async (req, res) => {
    const t0 = performance.now();
    let counted = true;
    let result: 'success' | 'failure' = 'failure';
    try {
      const body = req.body === undefined ? {} : req.body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, 'invalid_body', 'the request body must be a JSON object');
      const key = idempotencyKeyOf(req);
      const params = req.params as Record<string, string>;
      const input = def.parse(params, body as Record<string, unknown>);
      const use = key === undefined ? undefined : { clientId: authOf(res).clientId, key, endpoint: def.route, hash: requestHash(def.route, params, body) };
      const outcome = await runCommand(deps, def, input, use);
      if (outcome.kind === 'ran') {
        result = 'success';
        res.status(outcome.status).json(outcome.body);
        return;
      }
      counted = false;
      if (outcome.kind === 'replay') {
        m.trc_idempotency_hits_total.add(1, { endpoint: def.route });
        res.status(outcome.status).set('Idempotent-Replayed', 'true').json(outcome.body);
      } else {
        m.trc_idempotency_conflicts_total.add(1, { endpoint: def.route });
        sendApiError(res, new ApiError(409, 'idempotency_key_reused', 'this Idempotency-Key was used for a different request; use a new key for a new request'));
      }
    } catch (err) {
      sendCommandError(res, deps.logger, def, err);
    } finally {
      if (counted) {
        m.trc_commands_total.add(1, { command: def.name, result });
        m.trc_command_duration_seconds.record((performance.now() - t0) / 1000, { command: def.name, result });
      }
    }
  };
}
