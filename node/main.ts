import { handleShutdownSignalsOurselves } from '../db/embedded';
import { loadDotEnv } from '../config/dotenv';
import { exitOnBadSettings } from '../config/settings';
import { loadConfig } from './config';
import { startNode } from './node';

/** A stop that hangs (a stuck request, a peer that does not answer) must not keep the process alive. */
const SHUTDOWN_TIMEOUT_MS = 15_000;

/** Entry point of one node process: `npm run dev`, or `npm start` (production). */
async function main(): Promise<void> {
  loadDotEnv();
  const config = loadConfig();
  const started = startNode(config, { withPages: config.servePages });
  // Signals are ours from the start (no event runs before these lines): a SIGTERM while the node is
  // still starting — its port opens early — waits for the start to finish, then stops it as usual.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => {
      console.error(`${config.nodeId}: shutdown took over ${SHUTDOWN_TIMEOUT_MS} ms; exiting`);
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    started
      .then((node) => {
        node.ctx.log.info(`${signal}: shutting down`);
        return node.stop();
      })
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(`${config.nodeId}: shutdown failed`, err);
          process.exit(1);
        },
      );
  };
  handleShutdownSignalsOurselves();
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  const node = await started;
  const mode = config.dev ? 'development' : 'production';
  node.ctx.log.info(`${config.nodeId} ready at ${node.url} (${mode})`);
}

main().catch((err: unknown) => {
  exitOnBadSettings(err, process.env.NODE_ID ?? 'node');
  console.error(err);
  process.exit(1);
});
