import type { Clock, Logger, Sleep } from '@micboard/limiter-core';
import { invalidOption } from './validate.js';
import type { ShureResults } from './client.js';
import type { ShureDevice, ShureFailure, TransmitterData } from './types.js';

/** What one poll saw. */
export interface PollSnapshot {
  /** When the poll finished, ms since the epoch (the client's clock). */
  readonly at: number;
  readonly devices: readonly ShureDevice[];
  /** Per device id, for ONLINE devices whose data could be read (with `transmitterData`). */
  readonly transmitters: Readonly<Record<string, TransmitterData>>;
}

/** What changed since the previous snapshot (on the first, every device is `added`). */
export interface PollChanges {
  readonly added: readonly ShureDevice[];
  /** Ids of devices no longer listed. */
  readonly removed: readonly string[];
  /** Devices whose data (device or transmitter data) differs from the previous poll. */
  readonly changed: ReadonlyArray<{
    readonly deviceId: string;
    readonly device: ShureDevice;
    readonly transmitter: TransmitterData | undefined;
    readonly previousTransmitter: TransmitterData | undefined;
  }>;
}

/** Options of `client.poll`. */
export interface PollOptions {
  /** The pause between the end of one poll and the start of the next, in ms. @default the client's pollIntervalMs (5_000) */
  readonly intervalMs?: number;
  /** Also read each ONLINE device's battery and channel activity. @default true */
  readonly transmitterData?: boolean;
  /** Receives each snapshot and what changed; may be async (the next poll waits for it). Errors it throws are logged. */
  readonly onSnapshot: (snapshot: PollSnapshot, changes: PollChanges) => void | Promise<void>;
  /** Receives each failed read (the client has already logged it). */
  readonly onError?: (failure: ShureFailure) => void;
  /** Aborting stops the poller, as `stop()` does. */
  readonly signal?: AbortSignal;
}

/** A running poller. */
export interface Poller {
  /** Stops polling: aborts a poll in progress and resolves once the loop has ended. Idempotent. */
  stop(): Promise<void>;
  readonly running: boolean;
  /** Completed polls (snapshots emitted or failed). */
  readonly polls: number;
}

interface PollerDeps {
  readonly intervalMs: number;
  readonly sleep: Sleep;
  readonly logger: Logger;
  readonly clock: Clock;
}

/**
 * Runs the poll loop: a fixed pause between polls (never overlapping, so a slow server cannot make
 * polls pile up), fresh reads that refresh the cache, and a diff against the previous snapshot.
 */
export function startPoller(results: ShureResults, deps: PollerDeps, options: PollOptions, onEnd: () => void): Poller {
  if (typeof options?.onSnapshot !== 'function') throw invalidOption('onSnapshot', options?.onSnapshot, 'a function');
  const intervalMs = options.intervalMs ?? deps.intervalMs;
  if (typeof intervalMs !== 'number' || !Number.isFinite(intervalMs) || intervalMs < 1) {
    throw invalidOption('intervalMs', intervalMs, 'a number of ms >= 1');
  }
  const withTransmitters = options.transmitterData ?? true;
  const controller = new AbortController();
  const signal = controller.signal;
  const stopFromOutside = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', stopFromOutside, { once: true });
  if (options.signal?.aborted) controller.abort(options.signal.reason);
  let running = true;
  let polls = 0;

  const failed = (error: ShureFailure): void => {
    if (error.kind === 'aborted') return;
    try {
      options.onError?.(error);
    } catch (hookError) {
      deps.logger.error({ error: String(hookError) }, 'poll onError threw');
    }
  };

  const loop = async (): Promise<void> => {
    let previous = new Map<string, { json: string; transmitter: TransmitterData | undefined }>();
    while (!signal.aborted) {
      const listed = await results.getDevices({ fresh: true, signal });
      if (signal.aborted) break;
      if (!listed.ok) failed(listed.error);
      else {
        const transmitters: Record<string, TransmitterData> = {};
        if (withTransmitters) {
          const online = listed.value.filter((device) => device.deviceState === 'ONLINE');
          const data = await Promise.all(
            online.map((device) => results.getTransmitterData(device.hardwareIdentity.deviceId, { fresh: true, signal })),
          );
          if (signal.aborted) break;
          for (const result of data) {
            if (result.ok) transmitters[result.value.deviceId] = result.value;
            else failed(result.error);
          }
        }
        const current = new Map<string, { json: string; transmitter: TransmitterData | undefined }>();
        const added: ShureDevice[] = [];
        const changed: Array<PollChanges['changed'][number]> = [];
        for (const device of listed.value) {
          const id = device.hardwareIdentity.deviceId;
          const transmitter = transmitters[id];
          const json = JSON.stringify([device, transmitter ?? null]);
          current.set(id, { json, transmitter });
          const before = previous.get(id);
          if (before === undefined) added.push(device);
          else if (before.json !== json) {
            changed.push({ deviceId: id, device, transmitter, previousTransmitter: before.transmitter });
          }
        }
        const removed = [...previous.keys()].filter((id) => !current.has(id));
        previous = current;
        polls++;
        try {
          await options.onSnapshot(
            { at: deps.clock.now(), devices: listed.value, transmitters },
            { added, removed, changed },
          );
        } catch (error) {
          deps.logger.error({ error: String(error) }, 'poll onSnapshot threw');
        }
        if (signal.aborted) break;
        try {
          await deps.sleep(intervalMs, signal);
        } catch {
          break;
        }
        continue;
      }
      polls++;
      try {
        await deps.sleep(intervalMs, signal);
      } catch {
        break;
      }
    }
  };

  const finished = loop()
    .catch((error: unknown) => deps.logger.error({ error: String(error) }, 'poll loop failed'))
    .finally(() => {
      running = false;
      options.signal?.removeEventListener('abort', stopFromOutside);
      onEnd();
    });

  return {
    stop() {
      controller.abort();
      return finished;
    },
    get running() {
      return running;
    },
    get polls() {
      return polls;
    },
  };
}
