import type * as express from 'express';
import { noteDenied, wireHeaderName, type HttpRequest, type HttpVerdict } from '@micboard/limiter-core';

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
    route: route !== undefined && typeof route.path === 'string' ? req.baseUrl + route.path : undefined,
    trustProxy,
    userId,
  };
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
