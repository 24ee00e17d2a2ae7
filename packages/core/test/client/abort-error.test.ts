import { describe, expect, it } from 'vitest';
import { LimiterError } from '../../src/errors.js';
import { abortError, untilAborted } from '../../src/client/abort-error.js';

const never = (): Promise<never> => new Promise<never>(() => {});

describe('abortError', () => {
  it("is an ABORTED LimiterError with the signal's reason as cause", () => {
    const reason = new Error('gone');
    const error = abortError(AbortSignal.abort(reason));
    expect(error).toBeInstanceOf(LimiterError);
    expect(error.code).toBe('ABORTED');
    expect(error.cause).toBe(reason);
  });
});

describe('untilAborted', () => {
  it('passes the promise through without a signal', async () => {
    const promise = Promise.resolve(1);
    expect(untilAborted(promise, undefined)).toBe(promise);
  });

  it('settles like the promise while the signal stays quiet', async () => {
    const signal = new AbortController().signal;
    await expect(untilAborted(Promise.resolve(7), signal)).resolves.toBe(7);
    await expect(untilAborted(Promise.reject(new Error('store down')), signal)).rejects.toThrow('store down');
  });

  it('rejects at once when the signal aborts, even if the promise never settles', async () => {
    const controller = new AbortController();
    const wait = untilAborted(never(), controller.signal);
    controller.abort();
    await expect(wait).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('rejects at once for a signal that was already aborted, and swallows the late result', async () => {
    let fail: (error: Error) => void = () => {};
    const late = new Promise<never>((_, reject) => {
      fail = reject;
    });
    const wait = untilAborted(late, AbortSignal.abort());
    await expect(wait).rejects.toMatchObject({ code: 'ABORTED' });
    fail(new Error('too late')); // must not surface as an unhandled rejection
    await Promise.resolve();
  });
});
