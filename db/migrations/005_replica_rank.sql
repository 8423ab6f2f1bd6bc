-- A replicated version's place in its document's own order (a cancelled booking outranks the
-- confirmed one whatever the clocks say): compared before vector clocks and last-write-wins.
ALTER TABLE data_replicas ADD COLUMN rank integer NOT NULL DEFAULT 0;
