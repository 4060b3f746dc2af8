/**
 * The control plane's tables, created at start-up when missing (idempotent, serialised by an advisory
 * lock so that an API process and a worker process starting together do not race):
 * - `events`: the event store, one row per event, ordered by `id`, versioned per stream;
 * - `idempotency_keys`: the first answer to each (client, Idempotency-Key);
 * - `projection_checkpoints`, `projection_dead_letters`: where each projection is, and the events it could not apply;
 * - `read_apps`, `read_deploys`: the read models of the `apps` and `deploys` projections;
 * - `oauth_signing_keys`, `oauth_refresh_tokens`, `oauth_device_codes`: token issuance state (secrets hashed).
 */
import type pg from 'pg';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  id          bigserial PRIMARY KEY,
  stream_id   text        NOT NULL,
  version     integer     NOT NULL,
  type        text        NOT NULL,
  payload     jsonb       NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream_id, version)
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  client_id    text        NOT NULL,
  key          text        NOT NULL,
  endpoint     text        NOT NULL,
  request_hash text        NOT NULL,
  status       integer,
  response     jsonb,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_id, key)
);
CREATE TABLE IF NOT EXISTS projection_checkpoints (
  projection    text        PRIMARY KEY,
  last_event_id bigint      NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS projection_dead_letters (
  projection text        NOT NULL,
  event_id   bigint      NOT NULL,
  reason     text        NOT NULL,
  failed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (projection, event_id)
);
CREATE TABLE IF NOT EXISTS read_apps (
  org        text    NOT NULL,
  name       text    NOT NULL,
  image      text,
  deploys    integer NOT NULL DEFAULT 0,
  processes  jsonb   NOT NULL DEFAULT '{}'::jsonb,
  event_id   bigint  NOT NULL,
  PRIMARY KEY (org, name)
);
CREATE TABLE IF NOT EXISTS read_deploys (
  id         uuid        PRIMARY KEY,
  org        text        NOT NULL,
  app        text        NOT NULL,
  image      text        NOT NULL,
  event_id   bigint      NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS read_deploys_app ON read_deploys (org, app, event_id);
CREATE TABLE IF NOT EXISTS oauth_signing_keys (
  id         integer     PRIMARY KEY,
  secret     bytea       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS oauth_refresh_tokens (
  token_hash text        PRIMARY KEY,
  client_id  text        NOT NULL,
  subject    text        NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz
);
CREATE TABLE IF NOT EXISTS oauth_device_codes (
  device_code_hash text        PRIMARY KEY,
  user_code        text        NOT NULL UNIQUE,
  client_id        text        NOT NULL,
  status           text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'consumed')),
  subject          text,
  interval_s       integer     NOT NULL,
  expires_at       timestamptz NOT NULL,
  last_polled_at   timestamptz
);
`;

/** Key of the advisory lock held while the schema is created. */
const MIGRATION_LOCK = 7_414_001;
const LOCK = 'SELECT pg_advisory_lock($1)';
const UNLOCK = 'SELECT pg_advisory_unlock($1)';
const CHECKPOINTS = 'INSERT INTO projection_checkpoints (projection) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING';
const ANALYZE = 'ANALYZE events';

/** The texts of the statements {@link migrate} runs (timed under the `migration` query class). */
export const MIGRATION_SQL: readonly string[] = [LOCK, SCHEMA, CHECKPOINTS, ANALYZE, UNLOCK];

/**
 * Creates what is missing, gives each projection its checkpoint row (at 0), and analyses `events`
 * once so that its row estimate (`trc_events_table_rows`) is known from the first scrape.
 * @throws the database's error.
 */
export async function migrate(pool: pg.Pool, projections: readonly string[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query(LOCK, [MIGRATION_LOCK]);
    try {
      await client.query(SCHEMA);
      await client.query(CHECKPOINTS, [projections]);
      await client.query(ANALYZE);
    } finally {
      await client.query(UNLOCK, [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
