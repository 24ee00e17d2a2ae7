/**
 * The Shure System API as this client sees it: the shapes of the resources it reads and writes,
 * and the failures it reports. Fields the client does not need are kept in `raw`-free objects as
 * the server sent them (the API adds fields between firmware versions).
 */

/** A device's state as the API reports it; other strings may appear on newer firmware. */
export type DeviceState = 'ONLINE' | 'OFFLINE' | 'DISCOVERED' | (string & {});

/** One device: a node of GET /api/v1/devices, or GET /api/v1/devices/{id}. */
export interface ShureDevice {
  readonly hardwareIdentity: { readonly deviceId: string; readonly serialNumber: string };
  readonly softwareIdentity: { readonly model: string; readonly firmwareVersion: string };
  readonly deviceState: DeviceState;
  /** As the server sends it (a list or a map of capability names, depending on firmware). */
  readonly capabilities: unknown;
}

/** GET /api/v1/devices/{id}/battery-level. */
export interface BatteryLevel {
  /** Charge, 0-100. */
  readonly percentage: number;
  /** e.g. `'DISCHARGING'`, `'CHARGING'`, `'FULL'`, `'CRITICAL'`. */
  readonly status: string;
}

/** GET /api/v1/devices/{id}/battery-health. */
export interface BatteryHealth {
  /** Health relative to a new battery, 0-100. */
  readonly percentage: number;
  readonly cycleCount: number;
}

/** One audio channel of a device (GET /api/v1/devices/{id}/audio-channels). */
export interface AudioChannel {
  /** base64 JSON, opaque; the client URL-encodes it in paths. */
  readonly id: string;
  readonly name: string | undefined;
}

/** GET .../audio-channels/{ch}/activity. */
export type AudioLevel = 'LOW' | 'GOOD' | 'CLIPPING' | (string & {});

/** A device's battery and channel activity, fetched together by `getTransmitterData`. */
export interface TransmitterData {
  readonly deviceId: string;
  /** Null when the device has no battery (the battery endpoints answer 404, as for a receiver). */
  readonly battery: { readonly level: BatteryLevel; readonly health: BatteryHealth | null } | null;
  readonly channels: ReadonlyArray<{ readonly id: string; readonly name: string | undefined; readonly audioLevel: AudioLevel }>;
}

/** The client's public methods; also the names of the per-method rate limits. */
export type ShureMethod = 'getDevices' | 'getDevice' | 'getDeviceChannels' | 'getTransmitterData' | 'discoverDevices' | 'request';

/**
 * Why a call failed. Switch on it to tell "not found" from "down":
 * - `not-found`: 404; the resource does not exist (the server is up).
 * - `unauthorized`: 401/403; the API key is missing or wrong.
 * - `rejected`: another 4xx the server will keep giving (bad request, conflict...).
 * - `rate-limited`: 429 after the retries (or a Retry-After longer than the client will wait).
 * - `server-error`: 5xx after the retries.
 * - `network`: no connection, or it dropped; `timeout`: no answer within `timeoutMs`.
 * - `circuit-open`: the circuit breaker holds calls back after repeated failures (no request sent).
 * - `throttled`: our own rate limit would make the call wait longer than `maxWaitMs`, or its queue is full.
 * - `aborted`: the caller's AbortSignal fired.
 * - `invalid-response`: the answer was not the JSON this method expects.
 * - `closed`: the client was closed, before the call or while it waited or was in flight.
 */
export type ShureFailureKind =
  | 'not-found'
  | 'unauthorized'
  | 'rejected'
  | 'rate-limited'
  | 'server-error'
  | 'network'
  | 'timeout'
  | 'circuit-open'
  | 'throttled'
  | 'aborted'
  | 'invalid-response'
  | 'closed';

/** What went wrong with one call, as data. */
export interface ShureFailure {
  readonly kind: ShureFailureKind;
  /** The client method that failed. */
  readonly method: ShureMethod;
  /** The HTTP request that failed last, e.g. `'GET /api/v1/devices'`. */
  readonly request: string;
  /** The last HTTP status, when there was a response. */
  readonly status: number | undefined;
  /** HTTP requests sent for the failing request (first try plus retries). */
  readonly attempts: number;
  /**
   * Why retrying stopped, when it was considered: `'not-retryable'`, `'not-idempotent'`,
   * `'exhausted'`, `'retry-after-too-long'`, `'retry-budget'` (too many retries lately) or
   * `'circuit-open'`.
   */
  readonly retryStop: string | undefined;
  /** True when the server is likely down or overloaded (worth trying later), false when retrying will not help. */
  readonly transient: boolean;
  readonly message: string;
  readonly cause?: unknown;
}

/** A call's outcome: the value, or what went wrong. */
export type ShureResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ShureFailure };

/** Options every call takes. */
export interface CallOptions {
  /** Aborting ends the call at once (any wait or request), with an `'aborted'` failure. */
  readonly signal?: AbortSignal;
  /** Skip the response cache (the answer still refreshes it; concurrent calls still share one request). */
  readonly fresh?: boolean;
}
