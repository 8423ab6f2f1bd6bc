/**
 * The contract's keys, `METHOD /path/:param`, and what a path becomes: filled in for a request,
 * or `{param}` for OpenAPI. No zod here, so the browser's client uses it without any schema.
 */

const PARAM = /:([A-Za-z]+)/g;

/** `GET /api/movies/:id` → `['GET', '/api/movies/:id']`. */
export function splitKey(key: string): [method: string, path: string] {
  const space = key.indexOf(' ');
  return [key.slice(0, space), key.slice(space + 1)];
}

/** `/api/movies/:id` with `{ id: 7 }` → `/api/movies/7`. */
export function fillPath(path: string, params: Record<string, string | number> = {}): string {
  return path.replace(PARAM, (_, name: string) => encodeURIComponent(String(params[name] ?? '')));
}

/** `/api/movies/:id` → `/api/movies/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(PARAM, '{$1}');
}
