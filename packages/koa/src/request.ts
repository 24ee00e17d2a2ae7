import type * as Koa from 'koa';
import { noteDenied, silentLogger, wireHeaderName, type HttpRequest, type HttpVerdict, type Logger } from '@micboard/limiter-core';

/** Copies what the HTTP layer needs from a koa context. koa decided the ip (`app.proxy`), the app's `getUserId` the user. */
export function toHttpRequest(ctx: Koa.Context, userId: string | undefined): HttpRequest {
  // @koa/router records the matched pattern here.
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  // Read through ctx.request and ctx.req rather than ctx's delegating getters: one call each instead of two.
  const request = ctx.request;
  // koa's ip honours app.proxy (X-Forwarded-For only when proxies are trusted); '' when unknown.
  const ip = request.ip;
  // koa-mount strips its prefix from ctx.path and names it in ctx.mountPath; endpoint costs want the full path,
  // as express gives it. Only a mounted request pays for finding it.
  const mountPath = (ctx as { mountPath?: unknown }).mountPath;
  return {
    method: ctx.req.method as string,
    path: typeof mountPath === 'string' && mountPath !== '/' ? mountedPath(ctx, request.path, mountPath) : request.path,
    ip: ip === '' ? undefined : ip,
    headers: ctx.req.headers,
    route: typeof matched === 'string' ? matched : undefined,
    trustProxy: ctx.app.proxy === true,
    userId,
  };
}

/**
 * The full path of a request under koa-mount: the path part of the URL the client sent. ctx.mountPath is not
 * enough on its own: under nested mounts it names the innermost mount only, and once a mount hands the request
 * back (its middleware called next) koa-mount restores the full ctx.path but leaves ctx.mountPath set. An
 * absolute-form target (`GET http://host/path`) falls back to the mount path plus the stripped path.
 */
function mountedPath(ctx: Koa.Context, path: string, mountPath: string): string {
  const url = ctx.originalUrl;
  if (typeof url !== 'string' || url[0] !== '/') return mountPath + path;
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

/** Apps already warned about: a global limiter and its route limits each check, and the app hears it once. */
const warnedApps = new WeakSet<object>();

/**
 * Warns once per app when `app.proxy` is on with `app.maxIpsCount` 0: ctx.ip is then the leftmost
 * X-Forwarded-For entry, which the client writes, so each client picks its own key. Each middleware calls
 * it on its first request only (it keeps a flag), so nothing of this runs per request.
 */
export function warnIfEveryProxyTrusted(ctx: Koa.Context, logger: Logger): void {
  const app = ctx.app;
  // A route limit with no logger of its own cannot tell anyone: leave the app to a middleware that can.
  if (logger === silentLogger || warnedApps.has(app) || !(app.proxy && !(app.maxIpsCount > 0))) return;
  warnedApps.add(app);
  logger.warn(
    {},
    'koa app.proxy is on with app.maxIpsCount 0: ctx.ip is the leftmost X-Forwarded-For entry, which clients ' +
      'control. Set app.maxIpsCount to the number of proxies in front of the app.',
  );
}

/**
 * Sets the verdict's headers on the response, under their lower-case names (see wireHeaderName);
 * none once the headers went out, as `ctx.set` does.
 */
export function setHeaders(ctx: Koa.Context, headers: Readonly<Record<string, string>>): void {
  // Straight to node's setHeader: for a string value that is all ctx.set does, but koa 3's set
  // first builds arrays and closures for every call, which cost more than the whole decision.
  const res = ctx.res;
  if (res.headersSent) return;
  for (const name in headers) res.setHeader(wireHeaderName(name), headers[name] as string);
}

/** Answers a denied request: status, headers and the JSON body. */
export function deny(ctx: Koa.Context, verdict: HttpVerdict): void {
  // Our own answer: the global middleware must not feed its status into the client's score.
  noteDenied(ctx.res);
  ctx.status = verdict.status;
  setHeaders(ctx, verdict.headers);
  ctx.body = verdict.body;
}

/** The default user id: `ctx.state.user.id` (koa-passport, koa-jwt), if the app has a user. */
export function defaultUserId(ctx: Koa.Context): string | undefined {
  const user = (ctx.state as { user?: { id?: unknown } } | undefined)?.user;
  const id = user?.id;
  return typeof id === 'string' ? id : typeof id === 'number' ? String(id) : undefined;
}
