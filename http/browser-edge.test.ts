import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCrossSiteRequest, pageContentSecurityPolicy, parseSiteOrigins, wantsSecureCookie } from './browser-edge';

const HOST = 'tickets.example:3000';

test('only unsafe methods without a bearer token are checked', () => {
  const evil = { host: HOST, origin: 'http://evil.example' };
  for (const method of ['GET', 'HEAD', 'OPTIONS']) assert.equal(isCrossSiteRequest(method, evil, []), false, method);
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) assert.equal(isCrossSiteRequest(method, evil, []), true, method);
  assert.equal(isCrossSiteRequest('POST', { ...evil, authorization: 'Bearer abc' }, []), false);
  assert.equal(isCrossSiteRequest('POST', { ...evil, authorization: 'Basic abc' }, []), true);
});

test('the Origin is compared with the Host the request was sent to, default ports included', () => {
  const cross = (origin: string, host: string) => isCrossSiteRequest('POST', { origin, host }, []);
  assert.equal(cross('http://tickets.example:3000', HOST), false);
  assert.equal(cross('http://TICKETS.example:3000', 'tickets.EXAMPLE:3000'), false);
  assert.equal(cross('https://tickets.example', 'tickets.example'), false);
  assert.equal(cross('https://tickets.example', 'tickets.example:443'), false);
  assert.equal(cross('http://[::1]:3000', '[::1]:3000'), false);
  assert.equal(cross('http://tickets.example:3001', HOST), true);
  assert.equal(cross('http://tickets.example', HOST), true);
  assert.equal(cross('https://tickets.example', 'tickets.example:80'), true);
  assert.equal(cross('http://tickets.example:3000.evil.example', HOST), true);
  assert.equal(cross('null', HOST), true);
  assert.equal(cross('file://', HOST), true);
  assert.equal(cross('not a url', HOST), true);
  assert.equal(isCrossSiteRequest('POST', { origin: 'http://tickets.example:3000' }, []), true, 'no Host: nothing to be the same as');
});

test('without Origin, Sec-Fetch-Site decides; with neither (curl, programs) the request passes', () => {
  assert.equal(isCrossSiteRequest('POST', { host: HOST, 'sec-fetch-site': 'cross-site' }, []), true);
  assert.equal(isCrossSiteRequest('POST', { host: HOST, 'sec-fetch-site': 'same-site' }, []), true);
  assert.equal(isCrossSiteRequest('POST', { host: HOST, 'sec-fetch-site': 'same-origin' }, []), false);
  assert.equal(isCrossSiteRequest('POST', { host: HOST, 'sec-fetch-site': 'none' }, []), false);
  assert.equal(isCrossSiteRequest('POST', { host: HOST }, []), false);
});

test('SITE_ORIGIN replaces the Host comparison', () => {
  const origins = parseSiteOrigins('https://tickets.example, https://www.tickets.example:8443');
  assert.deepEqual(origins, ['https://tickets.example', 'https://www.tickets.example:8443']);
  assert.equal(isCrossSiteRequest('POST', { origin: 'https://tickets.example', host: 'node-1:3001' }, origins), false);
  assert.equal(isCrossSiteRequest('POST', { origin: 'http://node-1:3001', host: 'node-1:3001' }, origins), true);
  assert.deepEqual(parseSiteOrigins(''), []);
  assert.deepEqual(parseSiteOrigins(undefined), []);
  for (const bad of ['tickets.example', 'https://tickets.example/path', 'ftp://tickets.example', 'null']) assert.throws(() => parseSiteOrigins(bad), bad);
});

test('Secure cookies: on, off, or auto from the first X-Forwarded-Proto hop', () => {
  assert.equal(wantsSecureCookie('on', {}), true);
  assert.equal(wantsSecureCookie('off', { 'x-forwarded-proto': 'https' }), false);
  assert.equal(wantsSecureCookie('auto', {}), false);
  assert.equal(wantsSecureCookie('auto', { 'x-forwarded-proto': 'HTTPS' }), true);
  assert.equal(wantsSecureCookie('auto', { 'x-forwarded-proto': 'https, http' }), true);
  assert.equal(wantsSecureCookie('auto', { 'x-forwarded-proto': 'http' }), false);
});

test('the page policy forbids framing always and allows eval and websockets only in development', () => {
  const prod = pageContentSecurityPolicy(false);
  const dev = pageContentSecurityPolicy(true);
  for (const csp of [prod, dev]) assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(prod, /unsafe-eval|ws:/);
  assert.match(dev, /'unsafe-eval'/);
  assert.match(dev, /connect-src 'self' ws: wss:/);
});
