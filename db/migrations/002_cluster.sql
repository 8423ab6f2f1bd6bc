-- Leadership fencing. The single row is the fencing register: a node becomes leader of epoch E
-- only by moving `epoch` up to E (compare-and-set), so each epoch has exactly one leader, and
-- every leader-only write checks, in its own transaction, that its epoch is still the current one.
CREATE TABLE cluster_leadership (
  id         int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  epoch      bigint NOT NULL DEFAULT 0,
  leader_id  text,
  claimed_at timestamptz
);
INSERT INTO cluster_leadership (id, epoch) VALUES (1, 0);

-- Every accepted claim, for the election history.
CREATE TABLE elections (
  epoch      bigint PRIMARY KEY,
  leader_id  text NOT NULL,
  algorithm  text NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE server_nodes ADD COLUMN url text;
