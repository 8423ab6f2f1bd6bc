import { handleShutdownSignalsOurselves } from '../db/embedded';
import { loadDotEnv } from '../config/dotenv';
import { loadConfig } from './config';
import { startNode } from './node';

/** A stop that hangs (a stuck request, a peer that does not answer) must not keep the process alive. */
const SHUTDOWN_TIMEOUT_MS = 15_000;

/** Entry point of one node process: `npm run dev`, or `npm start` (production). */
async function main(): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const node = await startNode(config, { withPages: config.servePages });
  node.ctx.log.info(`${config.nodeId} ready at ${node.url} (${config.dev ? 'development' : 'production'})`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    node.ctx.log.info(`${signal}: shutting down`);
    setTimeout(() => {
      node.ctx.log.error(`shutdown took longer than ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        node.ctx.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  handleShutdownSignalsOurselves();
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
