import { isThenable } from '../engine/maybe-promise.js';
import type { Logger } from '../logger.js';
import type { MaybePromise } from '../types.js';
import type { HttpRequest, HttpVerdict } from './types.js';

type Decide<R> = (raw: R, request: HttpRequest) => MaybePromise<HttpVerdict | undefined>;

/**
 * Wraps a middleware's decision with its `skip` hook, the same way for the global middleware and
 * route limits: a skipped request is undefined (let through untouched); a `skip` that throws or
 * rejects is logged and the request counted, so a broken hook is never a free pass.
 */
export function withSkip<R>(
  skip: ((request: R) => MaybePromise<boolean>) | undefined,
  logger: Logger,
  decide: Decide<R>,
): Decide<R> {
  if (!skip) return decide;
  const counted = (error: unknown): void => logger.error({ err: error }, 'rate limiter: skip() threw; counting the request');
  return (raw, request) => {
    let skipped: MaybePromise<boolean>;
    try {
      skipped = skip(raw);
    } catch (error) {
      counted(error);
      skipped = false;
    }
    if (isThenable(skipped)) {
      return skipped.then(
        (yes) => (yes ? undefined : decide(raw, request)),
        (error: unknown) => {
          counted(error);
          return decide(raw, request);
        },
      );
    }
    return skipped ? undefined : decide(raw, request);
  };
}
