import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LimiterError } from '../../src/errors.js';
import { sleep } from '../../src/client/index.js';

// The real sleep is the one timer in the core; fake timers drive it, so nothing here waits for real.
describe('sleep', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves after ms, not before (reading setTimeout at call time)', async () => {
    let done = false;
    const wait = sleep(200).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(199);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await wait;
    expect(done).toBe(true);
  });

  it('waits the whole time past 2^31 - 1 ms, where one setTimeout would fire at once', async () => {
    const ms = 3_000_000_000;
    let done = false;
    const wait = sleep(ms).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(ms - 10 - 2 ** 31 - 1);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await wait;
    expect(done).toBe(true);
    // And an abort during a later piece still ends it at once, leaving no timer behind.
    const controller = new AbortController();
    const aborted = sleep(ms, controller.signal);
    await vi.advanceTimersByTimeAsync(2 ** 31 + 100);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'ABORTED' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('treats negative and NaN waits as 0', async () => {
    for (const ms of [-5, Number.NaN]) {
      let done = false;
      const wait = sleep(ms).then(() => {
        done = true;
      });
      await vi.advanceTimersByTimeAsync(0);
      await wait;
      expect(done).toBe(true);
    }
  });

  it('rejects at once with ABORTED when the signal aborts, and clears its timer', async () => {
    const controller = new AbortController();
    const wait = sleep(10_000, controller.signal);
    expect(vi.getTimerCount()).toBe(1);
    controller.abort(new Error('user left'));
    await expect(wait).rejects.toMatchObject({ name: 'LimiterError', code: 'ABORTED' });
    await expect(wait).rejects.toHaveProperty('cause', new Error('user left'));
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects an already aborted signal without starting a timer', async () => {
    const wait = sleep(100, AbortSignal.abort());
    await expect(wait).rejects.toBeInstanceOf(LimiterError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops listening to the signal once it resolves', async () => {
    const controller = new AbortController();
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    const wait = sleep(50, controller.signal);
    await vi.advanceTimersByTimeAsync(50);
    await wait;
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
    controller.abort(); // no effect, no unhandled rejection
  });
});
