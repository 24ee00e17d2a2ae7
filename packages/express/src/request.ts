import type * as express from 'express';
import { noteDenied, silentLogger, wireHeaderName, type HttpRequest, type HttpVerdict, type Logger } from '@micboard/limiter-core';

/**
 * Copies what the HTTP layer needs from an express request. No parsing of our own: express decided
 * the ip, and the app's `getUserId` decided the user (already asked, so the layer need not copy this).
 */
export function toHttpRequest(req: express.Request, userId: string | undefined): HttpRequest {
  const route = req.route as { path?: unknown } | undefined;
  const trustProxy = Boolean(req.app?.get('trust proxy'));
  return {
    method: req.method,
    // Under a mounted router req.path is relative; endpoint costs and route names want the full path.
    path: req.baseUrl === '' ? req.path : req.baseUrl + req.path,
    // express resolves req.ip under its own `trust proxy` setting. Untrusted, req.ip is the socket
    // address anyway: read it directly and skip express parsing X-Forwarded-For for nothing.
    ip: trustProxy ? (req.ip ?? req.socket?.remoteAddress) : req.socket?.remoteAddress,
    headers: req.headers,
    // The route pattern names a route limit's counter. req.baseUrl is the mount path as the client spelled
    // it, and express matches mount paths case-insensitively: lower-cased, `/API/data` and `/api/data`
    // share one counter rather than each spelling getting its own. (A parameterised mount's values still
    // differ: express keeps no pattern for it, so such limits need a `name`.)
    route: route !== undefined && typeof route.path === 'string' ? req.baseUrl.toLowerCase() + route.path : undefined,
    trustProxy,
    userId,
  };
}

/** From the documentation ranges (RFC 5737, RFC 3849): no real proxy has these addresses. */
const NO_PROXY_ADDRESSES = ['203.0.113.7', '2001:db8::7'];

/**
 * Whether the app's `trust proxy` trusts every hop: `true`, or a function that always says yes (proxy-addr
 * refuses `0.0.0.0/0`, so subnets never do). req.ip is then the leftmost X-Forwarded-For entry, which the client writes.
 * Asks express's compiled `trust proxy fn` about addresses no proxy has, at a hop no chain reaches: express calls
 * that function with client-supplied addresses on every request anyway. Meant to run once, never per request.
 */
export function trustsEveryProxy(app: express.Application | undefined): boolean {
  if (app === undefined) return false;
  if (app.get('trust proxy') === true) return true;
  const trust = app.get('trust proxy fn') as unknown;
  if (typeof trust !== 'function') return false;
  try {
    return NO_PROXY_ADDRESSES.every((address) => Boolean((trust as (address: string, hop: number) => unknown)(address, 1000)));
  } catch {
    return false;
  }
}

/** Apps already warned about: a global limiter and its route limits each check, and the app hears it once. */
const warnedApps = new WeakSet<object>();

/**
 * Warns once per app when its `trust proxy` lets clients pick their key. Each middleware calls it on its
 * first request only (it keeps a flag), so nothing of this runs per request.
 */
export function warnIfEveryProxyTrusted(req: express.Request, logger: Logger): void {
  const app = req.app as express.Application | undefined;
  // A route limit with no logger of its own cannot tell anyone: leave the app to a middleware that can.
  if (logger === silentLogger || app === undefined || warnedApps.has(app) || !trustsEveryProxy(app)) return;
  warnedApps.add(app);
  logger.warn(
    {},
    'express `trust proxy` trusts every hop: req.ip is the leftmost X-Forwarded-For entry, which clients control, ' +
      'so each client picks its own rate-limit key. Set `trust proxy` to the number of proxies in front of the app, or their addresses.',
  );
}

/**
 * Sets the verdict's headers on the response, under their lower-case names (see wireHeaderName);
 * none once the headers went out (an earlier middleware may have answered while the store decided).
 */
export function setHeaders(res: express.Response, headers: Readonly<Record<string, string>>): void {
  if (res.headersSent) return;
  for (const name in headers) res.setHeader(wireHeaderName(name), headers[name] as string);
}

/** Answers a denied request: status, headers and the JSON body. */
export function deny(res: express.Response, verdict: HttpVerdict): void {
  // Our own answer: the global middleware must not feed its status into the client's score.
  noteDenied(res);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = verdict.status;
  setHeaders(res, verdict.headers);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(verdict.body));
}

/** The default user id: passport's `req.user.id`, if the app has a user. */
export function defaultUserId(req: express.Request): string | undefined {
  const user = (req as { user?: { id?: unknown } }).user;
  const id = user?.id;
  return typeof id === 'string' ? id : typeof id === 'number' ? String(id) : undefined;
}
