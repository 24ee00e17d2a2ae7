/**
 * Adaptive scoring: a per-client multiplier that rises with good behaviour, falls with failures,
 * and drifts back toward 1 while the client is idle. Pure functions of (state, config, outcome,
 * now); a store keeps the state. The Redis Lua twin implements the same math from the text in
 * {@link recordOutcome} and {@link effectiveMultiplier}, so the two must change together.
 */
import { invalidOption } from '../errors.js';
import type { AdaptiveConfig, AdaptiveState, Outcome } from '../types.js';
import { integer, nonNegative, positive } from '../validate.js';

/**
 * The defaults of every {@link AdaptiveConfig} field, as documented on the type: multiplier in
 * [0.1, 2], +0.02 per success, x0.9 per failure (400, 401, 403, 404, 405, 422, 429), idle
 * half-life 10 min, long-term bonus x1.1 after 24 h and 100 scored responses.
 */
export const DEFAULT_ADAPTIVE: AdaptiveConfig = Object.freeze({
  min: 0.1,
  max: 2,
  successStep: 0.02,
  failureFactor: 0.9,
  failureStatuses: Object.freeze([400, 401, 403, 404, 405, 422, 429]),
  idleHalfLifeMs: 600_000,
  longTermAfterMs: 86_400_000,
  longTermMinRequests: 100,
  longTermBonus: 1.1,
});

/** A finite number in (low, high]. */
function openClosed(option: string, value: unknown, low: number, high: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= low || value > high) {
    throw invalidOption(option, value, `a number in (${low}, ${high}]`);
  }
  return value;
}

function atLeast(option: string, value: unknown, low: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < low) {
    throw invalidOption(option, value, `a finite number of at least ${low}`);
  }
  return value;
}

function statuses(option: string, value: unknown): readonly number[] {
  if (!Array.isArray(value)) throw invalidOption(option, value, 'an array of HTTP status codes');
  for (const status of value) {
    // 5xx is the server's fault and never scores against a client, so it cannot be configured to.
    if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 499) {
      throw invalidOption(option, value, 'an array of integer HTTP statuses in 100..499 (5xx never count against a client)');
    }
  }
  return Object.freeze([...(value as number[])]);
}

/**
 * Builds a validated, frozen {@link AdaptiveConfig}: every field not given takes its
 * {@link DEFAULT_ADAPTIVE} value.
 *
 * Constraints: `min` in (0, 1]; `max` >= 1 (so 1, a new client's multiplier, is always in
 * range); `successStep` >= 0; `failureFactor` in (0, 1]; `failureStatuses` integers in
 * 100..499; `idleHalfLifeMs` > 0; `longTermAfterMs` >= 0; `longTermMinRequests` an integer
 * >= 0; `longTermBonus` >= 1. All finite.
 *
 * @param partial Fields to override.
 * @param option The option name to prefix in errors. @default 'adaptive'
 * @throws LimiterError `INVALID_OPTION` naming the field, e.g. `adaptive.min`.
 * @example
 * const adaptive = adaptiveConfig({ min: 0.25, failureStatuses: [401, 403, 429] });
 */
export function adaptiveConfig(partial: Partial<AdaptiveConfig> = {}, option = 'adaptive'): AdaptiveConfig {
  if (typeof partial !== 'object' || partial === null) {
    throw invalidOption(option, partial, 'an object of adaptive settings');
  }
  const d = DEFAULT_ADAPTIVE;
  const min = openClosed(`${option}.min`, partial.min ?? d.min, 0, 1);
  const max = atLeast(`${option}.max`, partial.max ?? d.max, 1);
  return Object.freeze({
    min,
    max,
    successStep: atLeast(`${option}.successStep`, partial.successStep ?? d.successStep, 0),
    failureFactor: openClosed(`${option}.failureFactor`, partial.failureFactor ?? d.failureFactor, 0, 1),
    failureStatuses:
      partial.failureStatuses === undefined
        ? d.failureStatuses
        : statuses(`${option}.failureStatuses`, partial.failureStatuses),
    idleHalfLifeMs: positive(`${option}.idleHalfLifeMs`, partial.idleHalfLifeMs ?? d.idleHalfLifeMs),
    longTermAfterMs: nonNegative(`${option}.longTermAfterMs`, partial.longTermAfterMs ?? d.longTermAfterMs),
    longTermMinRequests: integer(`${option}.longTermMinRequests`, partial.longTermMinRequests ?? d.longTermMinRequests, 0),
    longTermBonus: atLeast(`${option}.longTermBonus`, partial.longTermBonus ?? d.longTermBonus, 1),
  });
}

// Objects checkAdaptiveConfig has passed, by identity: stores see the same few configs on every call.
const complete = new WeakSet<object>();

/**
 * Throws `INVALID_OPTION` unless `value` is a complete adaptive config: every field present and
 * valid, as {@link adaptiveConfig} returns one. Stores call it on every call that carries a
 * config, before anything else: a partial object (adaptiveConfig's input, not its output) would
 * write a NaN score or fail the store's call far from the mistake. A checked object is
 * remembered, so the same object costs one `WeakSet` lookup after the first call.
 */
export function checkAdaptiveConfig(value: unknown, option = 'adaptive'): AdaptiveConfig {
  if (typeof value !== 'object' || value === null) throw invalidOption(option, value, 'a complete adaptive config (adaptiveConfig() returns one)');
  if (complete.has(value)) return value as AdaptiveConfig;
  // Validates every field that is there, naming it.
  const full = adaptiveConfig(value as Partial<AdaptiveConfig>, option);
  for (const field of Object.keys(full) as (keyof AdaptiveConfig)[]) {
    if ((value as Partial<AdaptiveConfig>)[field] === undefined) {
      throw invalidOption(`${option}.${field}`, undefined, 'set: pass a complete config, as adaptiveConfig() returns');
    }
  }
  complete.add(value as object);
  return value as AdaptiveConfig;
}

/**
 * How a finished response counts for the client's score:
 * - `status >= 500`: `'neutral'` — the server's fault never penalises the client (checked first);
 * - `status` in `config.failureStatuses`: `'failure'`;
 * - 200..399: `'success'`;
 * - anything else (1xx, other 4xx, non-integers): `'neutral'`.
 */
export function outcomeOf(status: number, config: AdaptiveConfig): Outcome {
  if (status >= 500) return 'neutral';
  if (config.failureStatuses.includes(status)) return 'failure';
  if (status >= 200 && status < 400 && Number.isInteger(status)) return 'success';
  return 'neutral';
}

/**
 * Idle drift: `now > lastSeen ? 1 + (m - 1) * 2^(-(now - lastSeen) / idleHalfLifeMs) : m`.
 * Halfway back to 1 every half-life; a clock that went backwards leaves `m` alone.
 */
function drift(m: number, lastSeen: number, now: number, halfLifeMs: number): number {
  return now > lastSeen ? 1 + (m - 1) * Math.pow(2, -(now - lastSeen) / halfLifeMs) : m;
}

/** `min(max, max(min, x))`. */
function clamp(x: number, config: AdaptiveConfig): number {
  return Math.min(config.max, Math.max(config.min, x));
}

/**
 * Feeds one response outcome into a client's score and returns the new state (the input is not
 * changed). EXACT math, mirrored by the Redis Lua twin:
 *
 * ```text
 * if state is undefined:
 *   state = { multiplier: 1, firstSeen: now, lastSeen: now, requests: 0, successes: 0, failures: 0 }
 * requests = requests + 1                         -- every outcome
 * if outcome == 'neutral':
 *   return state with requests                   -- nothing else changes (see below)
 * m' = now > lastSeen ? 1 + (multiplier - 1) * 2^(-(now - lastSeen) / idleHalfLifeMs) : multiplier
 * success: multiplier = min(max, max(min, m' + successStep)); successes = successes + 1
 * failure: multiplier = min(max, max(min, m' * failureFactor)); failures = failures + 1
 * lastSeen = max(lastSeen, now)                   -- success and failure only
 * firstSeen unchanged
 * ```
 *
 * Why neutral leaves `multiplier` and `lastSeen` alone: the stored multiplier is "as of
 * `lastSeen`", so re-basing it on a neutral event would change nothing in exact arithmetic but
 * would round differently in floating point; skipping it makes a 5xx provably unable to move the
 * effective multiplier at any later time, bit for bit. `lastSeen` is therefore the time of the
 * last scored (success/failure) response, not of the last request.
 *
 * An event older than `lastSeen` (a store clock stepped back) gets no drift and is scored as of
 * `lastSeen`; the monotonicity guarantees below are stated for a non-decreasing store clock.
 *
 * Consequences worth knowing: the first request of any kind (a 5xx included) creates the state and
 * so starts the client's history clock (`firstSeen`); and with `successStep: 0`, replacing a neutral
 * event by a success can move a later multiplier by float rounding (about 1e-16) in either
 * direction, because one re-bases and the other does not. With any `successStep` well above
 * rounding (the default 0.02), a success never leaves the client worse off than any other outcome.
 *
 * Both bounds are clamped on every scored step (rather than only the one the step moves toward)
 * so float rounding in the drift (e.g. `1 + (0.1 - 1)` is `0.09999999999999998`) can never leave
 * the stored multiplier outside [min, max].
 *
 * @example
 * const next = recordOutcome(state, config, outcomeOf(res.statusCode, config), clock.now());
 */
export function recordOutcome(
  state: AdaptiveState | undefined,
  config: AdaptiveConfig,
  outcome: Outcome,
  now: number,
): AdaptiveState {
  const s: AdaptiveState = state ?? {
    multiplier: 1,
    firstSeen: now,
    lastSeen: now,
    requests: 0,
    successes: 0,
    failures: 0,
  };
  if (outcome === 'success') {
    const m = drift(s.multiplier, s.lastSeen, now, config.idleHalfLifeMs);
    return {
      multiplier: clamp(m + config.successStep, config),
      firstSeen: s.firstSeen,
      lastSeen: Math.max(s.lastSeen, now),
      requests: s.requests + 1,
      successes: s.successes + 1,
      failures: s.failures,
    };
  }
  if (outcome === 'failure') {
    const m = drift(s.multiplier, s.lastSeen, now, config.idleHalfLifeMs);
    return {
      multiplier: clamp(m * config.failureFactor, config),
      firstSeen: s.firstSeen,
      lastSeen: Math.max(s.lastSeen, now),
      requests: s.requests + 1,
      successes: s.successes,
      failures: s.failures + 1,
    };
  }
  return { ...s, requests: s.requests + 1 };
}

/**
 * The multiplier to apply to a client's limits at `now`. EXACT math, mirrored by the Lua twin:
 *
 * ```text
 * if state is undefined: return 1
 * m' = now > lastSeen ? 1 + (multiplier - 1) * 2^(-(now - lastSeen) / idleHalfLifeMs) : multiplier
 * if successes + failures >= longTermMinRequests and now - firstSeen >= longTermAfterMs:
 *   m' = m' * longTermBonus
 * return min(max, max(min, m'))
 * ```
 *
 * The long-term threshold counts scored responses (`successes + failures`), not `requests`, so
 * that a client's 5xx and other neutral responses cannot tip it over the threshold either.
 */
export function effectiveMultiplier(state: AdaptiveState | undefined, config: AdaptiveConfig, now: number): number {
  if (state === undefined) return 1;
  let m = drift(state.multiplier, state.lastSeen, now, config.idleHalfLifeMs);
  if (
    state.successes + state.failures >= config.longTermMinRequests &&
    now - state.firstSeen >= config.longTermAfterMs
  ) {
    m *= config.longTermBonus;
  }
  return clamp(m, config);
}
