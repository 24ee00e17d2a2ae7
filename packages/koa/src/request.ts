import type * as Koa from 'koa';
import { noteDenied, wireHeaderName, type HttpRequest, type HttpVerdict } from '@micboard/limiter-core';

/** Copies what the HTTP layer needs from a koa context. koa decided the ip (`app.proxy`), the app's `getUserId` the user. */
export function toHttpRequest(ctx: Koa.Context, userId: string | undefined): HttpRequest {
  // @koa/router records the matched pattern here.
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  // Read through ctx.request and ctx.req rather than ctx's delegating getters: one call each instead of two.
  const request = ctx.request;
  // koa's ip honours app.proxy (X-Forwarded-For only when proxies are trusted); '' when unknown.
  const ip = request.ip;
  return {
    method: ctx.req.method as string,
    path: request.path,
    ip: ip === '' ? undefined : ip,
    headers: ctx.req.headers,
    route: typeof matched === 'string' ? matched : undefined,
    trustProxy: ctx.app.proxy === true,
    userId,
  };
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
