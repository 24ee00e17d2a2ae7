export { rateLimit, limit } from './rate-limit.js';
export type { LimitOptions, RateLimitMiddleware, RateLimitOptions } from './rate-limit.js';
export { rateLimitAdmin, rateLimitAdminRoutes } from './admin.js';
export type { AdminMiddlewareOptions, AdminRouterLike } from './admin.js';
export { toHttpRequest } from './request.js';
export { createWebhookSender } from '@micboard/limiter-core';
export type { DecisionEvent, DenialAlert, HeaderStyle, NotifyOptions } from '@micboard/limiter-core';
