import { after, before } from 'node:test';
import {
  startCluster,
  startGateway,
  waitForEligible,
  type TestCluster,
  type TestGateway,
} from './cluster';
import { createTestDatabase, type TestDatabase } from './helpers';

export type TestSystem = {
  database: TestDatabase;
  cluster: TestCluster;
  gateway: TestGateway;
  /** Settles once started: a file's own `before` awaits it (Node 20 runs root hooks at once). */
  ready: Promise<void>;
};

/**
 * The whole system for one test file, as an outsider meets it: a fresh database, `size` node
 * processes and the gateway in front of them — started before the file's tests (every node
 * eligible at the gateway), stopped after them. The fields are there once `ready` settles.
 */
export function systemForTests(
  size: number,
  options: { nodeEnv?: Record<string, string>; gatewayEnv?: Record<string, string> } = {},
): TestSystem {
  const system = {} as TestSystem;
  let started: (error?: unknown) => void = () => {};
  system.ready = new Promise(
    (resolve, reject) => (started = (error) => (error ? reject(error) : resolve())),
  );
  system.ready.catch(() => {}); // awaited by the hooks that need it; its failure fails them
  before(async () => {
    try {
      system.database = await createTestDatabase();
      system.cluster = await startCluster(size, system.database.url, options.nodeEnv);
      system.gateway = await startGateway(system.database.url, options.gatewayEnv);
      await waitForEligible(system.gateway, size);
      started();
    } catch (error) {
      started(error);
      throw error;
    }
  });
  after(async () => {
    await system.gateway?.stop();
    await system.cluster?.stop();
    await system.database?.drop();
  });
  return system;
}
