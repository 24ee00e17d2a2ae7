/**
 * Fault injection for the mock: what the next requests should suffer. Settable in-process (tests)
 * or over HTTP through the control endpoint (manual runs), with the same JSON shape.
 */

/** Answer the next `count` matching API requests with `status` (e.g. 429, 500, 503). */
export interface FailRule {
  /** How many requests this rule answers. An integer >= 1. */
  count: number;
  /** The status to answer with, 400-599. */
  status: number;
  /** A `Retry-After` header value to send with it (delta-seconds or an HTTP-date). */
  retryAfter?: string;
  /** Only requests whose path starts with this are affected. @default every API request */
  path?: string;
}

/** Destroy the connection of the next `count` matching API requests without an answer. */
export interface DropRule {
  count: number;
  path?: string;
}

/** The JSON the control endpoint accepts (every field optional; given fields are applied). */
export interface FaultPatch {
  /** Added latency for every API request, in ms (0 = none). */
  latencyMs?: number;
  /** Answer every API request with this status until set to null (a server that is down). */
  down?: number | null;
  /** Retry-After sent with `down` answers. */
  downRetryAfter?: string | null;
  /** Queue a fail rule (or several). */
  failNext?: FailRule | FailRule[];
  /** Queue a drop rule (or several). */
  dropNext?: DropRule | DropRule[];
}

/** What the mock does with one request. */
export type FaultAction =
  | { kind: 'pass' }
  | { kind: 'drop' }
  | { kind: 'fail'; status: number; retryAfter: string | undefined };

export interface FaultState {
  latencyMs: number;
  down: number | null;
  downRetryAfter: string | null;
  queued: Array<({ kind: 'fail' } & FailRule) | ({ kind: 'drop' } & DropRule)>;
}

export interface FaultController {
  /** Sets the added latency in ms. */
  latency(ms: number): void;
  /** Queues `count` failures with `status` (and Retry-After), optionally only under `path`. */
  failNext(rule: FailRule): void;
  /** Queues `count` dropped connections, optionally only under `path`. */
  dropNext(rule: DropRule): void;
  /** Answers everything with `status` until called with null. */
  down(status: number | null, retryAfter?: string): void;
  /** Removes every fault. */
  clear(): void;
  /** Applies a control-endpoint patch; throws a TypeError naming the bad field. */
  apply(patch: FaultPatch): void;
  /** A copy of the current settings. */
  state(): FaultState;
  /** Decides the fate of one request (consumes a queued rule when one matches). */
  decide(path: string): FaultAction;
}

function checkCount(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new TypeError(`${field} must be an integer from 1 to 1000000; got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkStatus(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 400 || value > 599) {
    throw new TypeError(`${field} must be an HTTP error status 400-599; got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkOptionalString(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new TypeError(`${field} must be a string; got ${JSON.stringify(value)}`);
  return value;
}

export function createFaults(initial: FaultPatch = {}): FaultController {
  let state: FaultState = { latencyMs: 0, down: null, downRetryAfter: null, queued: [] };

  const controller: FaultController = {
    latency(ms) {
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > 600_000) {
        throw new TypeError(`latencyMs must be a number of ms from 0 to 600000; got ${JSON.stringify(ms)}`);
      }
      state.latencyMs = ms;
    },
    failNext(rule) {
      const count = checkCount('failNext.count', rule.count);
      const status = checkStatus('failNext.status', rule.status);
      const retryAfter = checkOptionalString('failNext.retryAfter', rule.retryAfter);
      const path = checkOptionalString('failNext.path', rule.path);
      state.queued.push({
        kind: 'fail',
        count,
        status,
        ...(retryAfter === undefined ? {} : { retryAfter }),
        ...(path === undefined ? {} : { path }),
      });
    },
    dropNext(rule) {
      const count = checkCount('dropNext.count', rule.count);
      const path = checkOptionalString('dropNext.path', rule.path);
      state.queued.push({ kind: 'drop', count, ...(path === undefined ? {} : { path }) });
    },
    down(status, retryAfter) {
      state.down = status === null ? null : checkStatus('down', status);
      state.downRetryAfter = status === null ? null : (checkOptionalString('downRetryAfter', retryAfter) ?? null);
    },
    clear() {
      state = { latencyMs: 0, down: null, downRetryAfter: null, queued: [] };
    },
    apply(patch) {
      if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) {
        throw new TypeError('the fault patch must be a JSON object');
      }
      if (patch.latencyMs !== undefined) controller.latency(patch.latencyMs);
      if (patch.down !== undefined) controller.down(patch.down, patch.downRetryAfter ?? undefined);
      const fails = patch.failNext === undefined ? [] : Array.isArray(patch.failNext) ? patch.failNext : [patch.failNext];
      const drops = patch.dropNext === undefined ? [] : Array.isArray(patch.dropNext) ? patch.dropNext : [patch.dropNext];
      for (const rule of fails) controller.failNext(rule);
      for (const rule of drops) controller.dropNext(rule);
    },
    state: () => structuredClone(state),
    decide(path) {
      if (state.down !== null) return { kind: 'fail', status: state.down, retryAfter: state.downRetryAfter ?? undefined };
      const index = state.queued.findIndex((rule) => rule.path === undefined || path.startsWith(rule.path));
      const rule = state.queued[index];
      if (rule === undefined) return { kind: 'pass' };
      rule.count -= 1;
      if (rule.count <= 0) state.queued.splice(index, 1);
      return rule.kind === 'drop' ? { kind: 'drop' } : { kind: 'fail', status: rule.status, retryAfter: rule.retryAfter };
    },
  };
  controller.apply(initial);
  return controller;
}
