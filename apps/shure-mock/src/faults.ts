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
  /** Applies a control-endpoint patch, all of it or (throwing a TypeError naming the bad field) none of it. */
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

function checkLatency(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 600_000) {
    throw new TypeError(`latencyMs must be a number of ms from 0 to 600000; got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkObject(field: string, value: unknown, example: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${field} must be an object such as ${example}; got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

type Queued = FaultState['queued'][number];

function checkFailRule(field: string, value: unknown): Queued {
  const rule = checkObject(field, value, '{ "count": 1, "status": 503 }');
  const count = checkCount(`${field}.count`, rule['count']);
  const status = checkStatus(`${field}.status`, rule['status']);
  const retryAfter = checkOptionalString(`${field}.retryAfter`, rule['retryAfter']);
  const path = checkOptionalString(`${field}.path`, rule['path']);
  return { kind: 'fail', count, status, ...(retryAfter === undefined ? {} : { retryAfter }), ...(path === undefined ? {} : { path }) };
}

function checkDropRule(field: string, value: unknown): Queued {
  const rule = checkObject(field, value, '{ "count": 1 }');
  const count = checkCount(`${field}.count`, rule['count']);
  const path = checkOptionalString(`${field}.path`, rule['path']);
  return { kind: 'drop', count, ...(path === undefined ? {} : { path }) };
}

/** One rule (named `field`) or a list of them (named `field[i]`), checked. */
function checkRules(field: string, value: unknown, check: (field: string, value: unknown) => Queued): Queued[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map((rule, i) => check(`${field}[${i}]`, rule)) : [check(field, value)];
}

/**
 * A patch checked whole, before anything is applied: a refused patch (a 400 on the control
 * endpoint) must leave every fault as it was, or a test's later requests fail for no visible reason.
 */
function checkPatch(patch: unknown): (state: FaultState) => void {
  const fields = checkObject('the fault patch', patch, '{ "latencyMs": 300 }');
  const latencyMs = fields['latencyMs'] === undefined ? undefined : checkLatency(fields['latencyMs']);
  const down = fields['down'] === undefined || fields['down'] === null ? fields['down'] : checkStatus('down', fields['down']);
  // Retry-After only goes with a status; with down cleared (null) it is dropped, as before.
  const downRetryAfter = down === undefined || down === null ? null : (checkOptionalString('downRetryAfter', fields['downRetryAfter'] ?? undefined) ?? null);
  const queued = [...checkRules('failNext', fields['failNext'], checkFailRule), ...checkRules('dropNext', fields['dropNext'], checkDropRule)];
  return (state) => {
    if (latencyMs !== undefined) state.latencyMs = latencyMs;
    if (down !== undefined) {
      state.down = down as number | null;
      state.downRetryAfter = downRetryAfter;
    }
    state.queued.push(...queued);
  };
}

export function createFaults(initial: FaultPatch = {}): FaultController {
  let state: FaultState = { latencyMs: 0, down: null, downRetryAfter: null, queued: [] };

  const controller: FaultController = {
    latency(ms) {
      state.latencyMs = checkLatency(ms);
    },
    failNext(rule) {
      state.queued.push(checkFailRule('failNext', rule));
    },
    dropNext(rule) {
      state.queued.push(checkDropRule('dropNext', rule));
    },
    down(status, retryAfter) {
      state.down = status === null ? null : checkStatus('down', status);
      state.downRetryAfter = status === null ? null : (checkOptionalString('downRetryAfter', retryAfter) ?? null);
    },
    clear() {
      state = { latencyMs: 0, down: null, downRetryAfter: null, queued: [] };
    },
    apply(patch) {
      checkPatch(patch)(state);
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
