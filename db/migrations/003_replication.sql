-- Each node's replica (data_replicas, keyed by node) is fed only by the replication protocol and
-- persisted before the node acknowledges or forwards anything, so a restarted node keeps it.
ALTER TABLE data_replicas ADD COLUMN seq bigint NOT NULL DEFAULT 0;
ALTER TABLE data_replicas ADD COLUMN deleted boolean NOT NULL DEFAULT false;

CREATE TABLE replica_meta (
  node_id    text PRIMARY KEY,
  meta       jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The cluster's replication settings, so every node (and a restarted one) uses the same.
CREATE TABLE replication_settings (
  id         int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  settings   jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Transactional outbox: a fact to replicate is recorded in the same transaction that commits it,
-- and removed once the replication protocol acknowledged it. A node that crashed in between
-- leaves its rows behind, and any node publishes them later: nothing committed is left out of
-- the replicas.
CREATE TABLE replication_outbox (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key        text NOT NULL,
  value      jsonb NOT NULL,
  node_id    text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX replication_outbox_age_idx ON replication_outbox (created_at);
