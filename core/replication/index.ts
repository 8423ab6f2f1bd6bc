/**
 * Pick a replication core by mode (the strategy is switchable at runtime: see `stop` and
 * `handoverOf`).
 */
import { createGossip } from './gossip';
import { createMasterSlave } from './master-slave';
import { createMultiMaster } from './multi-master';
import type { ReplicationConfig, ReplicationCore } from './replication';
import type { ReplicationMode } from '../vocabulary';

export function createReplication(
  mode: ReplicationMode,
  config: Partial<ReplicationConfig> = {},
): ReplicationCore {
  switch (mode) {
    case 'master-slave':
      return createMasterSlave(config);
    case 'multi-master':
      return createMultiMaster(config);
    case 'gossip':
      return createGossip(config);
  }
}
