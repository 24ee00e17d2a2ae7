import { describe, expect, it } from 'vitest';
import * as core from '@micboard/limiter-core';
import * as client from '../../src/client/index.js';

// Another package (the Shure client) builds on exactly these names.
const API = [
  'DEFAULT_RETRY_STATUSES',
  'backoffDelay',
  'createThrottle',
  'formatRetryAfter',
  'isIdempotentMethod',
  'nextRetry',
  'parseHttpDate',
  'parseRetryAfter',
  'retryPolicy',
  'sleep',
  'toHttpDate',
  'untilAborted',
];

describe('client exports', () => {
  it('exports exactly the public API', () => {
    expect(Object.keys(client).sort()).toEqual(API);
  });

  it('is re-exported unchanged from @micboard/limiter-core', () => {
    for (const name of API) expect(core[name as keyof typeof core], name).toBe(client[name as keyof typeof client]);
  });
});
