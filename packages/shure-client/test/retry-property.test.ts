import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createShureClient } from '../src/index.js';
import type { FetchLike } from '../src/index.js';
import { manualTime } from './helpers.js';

/** A scripted server: each entry is a status, or 'drop' for a connection error. Past the script: 200. */
function scriptedFetch(script: ReadonlyArray<number | 'drop'>, retryAfter: string | undefined): { fetch: FetchLike; calls: () => number } {
  let calls = 0;
  const fetch: FetchLike = (_url, init) => {
    const step = script[calls++];
    if (init.signal.aborted) return Promise.reject(new Error('aborted'));
    if (step === 'drop') return Promise.reject(new Error('ECONNRESET'));
    const status = step ?? 200;
    const body = status === 200 ? JSON.stringify({ pageInfo: { hasNextPage: false }, edges: [] }) : '{}';
    return Promise.resolve({
      status,
      headers: { get: (name: string) => (name === 'retry-after' && status !== 200 ? (retryAfter ?? null) : null) },
      text: () => Promise.resolve(body),
    });
  };
  return { fetch, calls: () => calls };
}

const failure = fc.constantFrom<number | 'drop'>(429, 500, 502, 503, 504, 'drop', 400, 404);

describe('retry bounds (property, scripted transport)', () => {
  it('never sends more than retries + 1 tries, and every wait stays within the caps', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        fc.array(failure, { maxLength: 8 }),
        fc.option(fc.constantFrom('0', '1', '3', '90', 'garbage'), { nil: undefined }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        async (retries, script, retryAfter, r) => {
          const time = manualTime();
          const server = scriptedFetch(script, retryAfter);
          const client = createShureClient({
            baseUrl: 'http://shure.test:10000',
            fetch: server.fetch,
            clock: time.clock,
            sleep: time.sleep,
            random: () => r,
            retry: { retries, baseMs: 500, capMs: 4_000, retryAfterCapMs: 60_000 },
            retryBudget: false,
            breaker: false,
            cacheTtlMs: 0,
          });
          const result = await client.results.getDevices();
          await client.close();
          expect(server.calls()).toBeLessThanOrEqual(retries + 1);
          // The model: tries stop at a success, a non-retryable answer, a Retry-After above the
          // cap (90 s > 60 s, only sent with a response), or the retry limit.
          let tries = 0;
          let ok = false;
          for (;;) {
            const step = script[tries++];
            if (step === undefined) {
              ok = true;
              break;
            }
            if (step === 400 || step === 404 || tries > retries) break;
            if (step !== 'drop' && retryAfter === '90') break;
          }
          expect(server.calls()).toBe(tries);
          expect(result.ok).toBe(ok);
          // Each retry's wait, exactly (random is the constant r): full jitter of the capped
          // backoff, or the server's Retry-After when longer (only with a response, and never the
          // 90 s one: the client gives up then).
          const waits: number[] = [];
          for (let retry = 1; retry < tries; retry++) {
            const step = script[retry - 1];
            const backoff = r * Math.min(4_000, 500 * 2 ** (retry - 1));
            const server = step !== 'drop' && retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
            waits.push(Math.max(backoff, server));
          }
          // The sleeps hold those waits in order, and between them only rate-slot waits (at most
          // one interval of getDevices' 5 per second).
          let next = 0;
          for (const ms of time.sleeps) {
            if (next < waits.length && ms === waits[next]) next++;
            else expect(ms).toBeLessThanOrEqual(200);
          }
          expect(next).toBe(waits.length);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
