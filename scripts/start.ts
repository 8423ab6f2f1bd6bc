import { buildIfNeeded } from './build-if-needed';

// `npm start`: production mode on PORT (default 3000), building the pages first if needed.
Object.assign(process.env, { NODE_ENV: 'production' });
buildIfNeeded();
await import('../server/main');
