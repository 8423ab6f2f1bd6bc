import { loadConfig } from '../node/config';
import { startNode } from '../node/node';

/**
 * Bench-only entry: one API node (no Next.js pages) in its own process, so that it does not share
 * an event loop with the load generator. Started by harness/kit.ts#startApiNode; prints one JSON
 * line `{"url": …}` on stdout when ready; stops on SIGTERM/SIGINT or when its stdin closes (the
 * parent went away).
 */
async function main(): Promise<void> {
  const config = loadConfig(process.env, { port: 0, host: '127.0.0.1' });
  const node = await startNode(config, { withPages: false });
  process.stdout.write(`${JSON.stringify({ url: node.url.replace('localhost', '127.0.0.1'), pid: process.pid })}\n`);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
