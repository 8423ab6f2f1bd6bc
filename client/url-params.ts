/** An id in a URL (`/movies/7`, `?showtime=12`): a positive integer, else null. */
export function positiveIntParam(value: unknown): number | null {
  return typeof value === 'string' && /^[1-9][0-9]{0,15}$/.test(value) ? Number(value) : null;
}
