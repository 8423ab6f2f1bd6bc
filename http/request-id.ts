/**
 * The id that follows one request from the gateway to a node and into both logs (`X-Request-Id`).
 * A client may bring its own; one that is not a short token (a 10 KB header, a newline) is
 * replaced, so nothing a client sends can flood or forge log lines.
 */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function acceptedRequestId(value: unknown): string | undefined {
  return typeof value === 'string' && REQUEST_ID.test(value) ? value : undefined;
}
