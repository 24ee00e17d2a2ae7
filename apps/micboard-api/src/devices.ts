import type { Logger } from '@micboard/limiter-core';
import type { Poller, PollSnapshot, ShureClient, ShureDevice, ShureFailure, TransmitterData } from '@micboard/shure-client';

/** One device as micboard's `/api/data` serves it. */
export interface DeviceView {
  readonly id: string;
  readonly model: string;
  readonly serial: string;
  readonly firmware: string;
  readonly state: string;
  readonly battery: { readonly percentage: number; readonly status: string; readonly health: number | null } | null;
  readonly channels: ReadonlyArray<{ readonly id: string; readonly name: string | undefined; readonly audioLevel: string }>;
}

/** What `/api/data` answers. */
export interface DataView {
  readonly devices: readonly DeviceView[];
  /** When the devices were last read from the Shure System API (ISO 8601), or null before the first poll. */
  readonly updated_at: string | null;
  /** True when the last good poll is older than `CACHE_TIMEOUT`: the Shure API is not answering. */
  readonly stale: boolean;
  /** The last polling failure, if the latest poll failed. */
  readonly error: string | null;
}

export interface DeviceService {
  /** Starts polling every `pollIntervalMs`. */
  start(): void;
  /** The latest devices, from memory: serving them never calls the Shure API. */
  data(): DataView;
  /** Polls now (fresh, bypassing the client's cache). */
  refresh(): Promise<DataView>;
  /** The server's discovery IP list and the devices it reports now; with `ips`, adds them to the list first. */
  discover(ips?: readonly string[]): Promise<{ ips: string[]; devices: DeviceView[] }>;
  stop(): Promise<void>;
}

export interface DeviceServiceOptions {
  readonly client: ShureClient;
  /** ms between polls. */
  readonly pollIntervalMs: number;
  /** Data older than this (ms) is served marked stale. */
  readonly cacheTimeoutMs: number;
  readonly logger: Logger;
  /** ms since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** A call to the Shure API failed; `failure` says how (the route answers 422 when the server refused the request, else 502 or 504). */
export class ShureUnavailable extends Error {
  override readonly name = 'ShureUnavailable';
  constructor(readonly failure: ShureFailure) {
    super(`Shure System API: ${failure.message}`);
  }
}

/**
 * Keeps the Shure System API's devices in memory, polled through the (rate-limited, retrying)
 * client, so micboard's endpoints answer from memory however often they are called.
 *
 * @example
 * const devices = createDeviceService({ client, pollIntervalMs: 5000, cacheTimeoutMs: 30_000, logger });
 * devices.start();
 */
export function createDeviceService(options: DeviceServiceOptions): DeviceService {
  const { client, logger } = options;
  const now = options.now ?? (() => Date.now());
  let snapshot: PollSnapshot | undefined;
  let lastError: string | null = null;
  let poller: Poller | undefined;

  const view = (): DataView => ({
    devices: snapshot ? snapshot.devices.map((device) => deviceView(device, snapshot?.transmitters[device.hardwareIdentity.deviceId])) : [],
    updated_at: snapshot ? new Date(snapshot.at).toISOString() : null,
    stale: snapshot === undefined || now() - snapshot.at > options.cacheTimeoutMs,
    error: lastError,
  });

  const onError = (failure: ShureFailure): void => {
    lastError = failure.message;
    logger.warn({ kind: failure.kind, request: failure.request, attempts: failure.attempts }, 'polling the Shure System API failed');
  };

  return {
    start() {
      if (poller?.running) return;
      poller = client.poll({
        intervalMs: options.pollIntervalMs,
        onSnapshot: (next) => {
          snapshot = next;
          lastError = null;
        },
        onError,
      });
    },
    data: view,
    async refresh() {
      const listed = await client.results.getDevices({ fresh: true });
      if (!listed.ok) {
        onError(listed.error);
        throw new ShureUnavailable(listed.error);
      }
      const transmitters: Record<string, TransmitterData> = {};
      const online = listed.value.filter((device) => device.deviceState === 'ONLINE');
      const data = await Promise.all(online.map((device) => client.results.getTransmitterData(device.hardwareIdentity.deviceId, { fresh: true })));
      for (const result of data) {
        if (result.ok) transmitters[result.value.deviceId] = result.value;
        else onError(result.error);
      }
      snapshot = { at: now(), devices: listed.value, transmitters };
      lastError = null;
      return view();
    },
    async discover(ips) {
      let list: string[];
      if (ips !== undefined && ips.length > 0) {
        const added = await client.results.discoverDevices(ips);
        if (!added.ok) throw new ShureUnavailable(added.error);
        list = [...added.value];
      } else {
        const current = await client.results.request({ path: '/api/v1/config/discovery/ips' });
        if (!current.ok) throw new ShureUnavailable(current.error);
        const body = current.value as { ips?: unknown };
        list = Array.isArray(body.ips) ? body.ips.filter((ip): ip is string => typeof ip === 'string') : [];
      }
      const listed = await client.results.getDevices({ fresh: true });
      if (!listed.ok) throw new ShureUnavailable(listed.error);
      return { ips: list, devices: listed.value.map((device) => deviceView(device, undefined)) };
    },
    async stop() {
      await poller?.stop();
    },
  };
}

function deviceView(device: ShureDevice, transmitter: TransmitterData | undefined): DeviceView {
  return {
    id: device.hardwareIdentity.deviceId,
    model: device.softwareIdentity.model,
    serial: device.hardwareIdentity.serialNumber,
    firmware: device.softwareIdentity.firmwareVersion,
    state: device.deviceState,
    battery: transmitter?.battery
      ? {
          percentage: transmitter.battery.level.percentage,
          status: transmitter.battery.level.status,
          health: transmitter.battery.health?.percentage ?? null,
        }
      : null,
    channels: transmitter?.channels.map((channel) => ({ id: channel.id, name: channel.name, audioLevel: channel.audioLevel })) ?? [],
  };
}
