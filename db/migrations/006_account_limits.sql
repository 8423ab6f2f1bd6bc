-- Per-account rate limits, shared by every node: one fixed window per key (`login:<lower email>`,
-- `hold:<user id>`, `booking:<user id>`), opened by its first hit (lib/limits). UNLOGGED: a hit
-- writes no WAL and waits for no fsync. The price, accepted: a crash of PostgreSQL empties the
-- table (counts of the current windows are forgiven, at most one window of extra attempts), and
-- physical standbys do not carry it (after a failover the counts start again).
CREATE UNLOGGED TABLE rate_limit_windows (
  key     text PRIMARY KEY,
  hits    int NOT NULL,
  ends_at timestamptz NOT NULL
);
CREATE INDEX rate_limit_windows_ends_idx ON rate_limit_windows (ends_at);

-- Session idle timeout: a session unused until idle_expires_at stops working. Lookups move it
-- (and last_seen_at) forward at most once a minute, so reading a session is not a write each
-- time. The default serves rows inserted by tools and tests; the nodes set it from
-- SESSION_IDLE_TIMEOUT_S.
ALTER TABLE sessions
  ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN idle_expires_at timestamptz NOT NULL DEFAULT now() + interval '7 days';
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_idle_expires_idx ON sessions (idle_expires_at);

-- The purge duty deletes idempotency keys past their retention by age.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- The cap on seats one account holds at once counts that account's held seats.
CREATE INDEX showtime_seats_held_by_idx ON showtime_seats (held_by) WHERE held_by IS NOT NULL;
