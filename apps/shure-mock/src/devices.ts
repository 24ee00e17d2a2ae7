/**
 * The simulated devices: a few Shure wireless transmitters/receivers whose battery drains and whose
 * audio level moves over time. Deterministic for a given seed, so tests can predict the first state.
 */

export type DeviceState = 'ONLINE' | 'OFFLINE' | 'DISCOVERED';
export type AudioLevel = 'LOW' | 'GOOD' | 'CLIPPING';
export type BatteryStatus = 'CHARGING' | 'DISCHARGING' | 'FULL' | 'CRITICAL';

/** A device node as the Shure System API shows it. */
export interface MockDeviceNode {
  hardwareIdentity: { deviceId: string; serialNumber: string };
  softwareIdentity: { model: string; firmwareVersion: string };
  deviceState: DeviceState;
  capabilities: string[];
}

export interface MockChannel {
  /** base64 of a small JSON object; contains '/' on purpose, so a client that does not URL-encode it fails. */
  id: string;
  name: string;
  audioLevel: AudioLevel;
}

export interface MockDevice {
  node: MockDeviceNode;
  battery: { percentage: number; status: BatteryStatus; cycleCount: number; health: number } | undefined;
  channels: MockChannel[];
}

/** What to simulate; the defaults make three devices, two with batteries. */
export interface DeviceSeed {
  deviceId: string;
  model: string;
  /** Number of audio channels. @default 1 */
  channels?: number;
  /** Whether the device reports a battery (transmitters do, receivers do not). @default true */
  battery?: boolean;
  /** @default 'ONLINE' */
  state?: DeviceState;
}

export const DEFAULT_DEVICES: readonly DeviceSeed[] = Object.freeze([
  { deviceId: 'b3f1c2d4-0001', model: 'ULXD2', channels: 1, battery: true },
  { deviceId: 'b3f1c2d4-0002', model: 'AD1', channels: 1, battery: true },
  { deviceId: 'b3f1c2d4-0003', model: 'ULXD4Q', channels: 4, battery: false },
]);

/** mulberry32: a tiny seeded PRNG, good enough for a simulation and reproducible across runs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A channel id as the real API makes them: base64 JSON. Padded until it contains a '/'. */
export function channelId(deviceId: string, channel: number): string {
  // The pad makes the id need URL-encoding, which is the mistake the mock exists to catch.
  for (let pad = 0; pad < 64; pad++) {
    const id = Buffer.from(JSON.stringify({ deviceId, channel, pad: '?'.repeat(pad) })).toString('base64');
    if (id.includes('/')) return id;
  }
  return Buffer.from(JSON.stringify({ deviceId, channel })).toString('base64');
}

export function createDevices(seeds: readonly DeviceSeed[], random: () => number): MockDevice[] {
  return seeds.map((seed, index) => ({
    node: {
      hardwareIdentity: { deviceId: seed.deviceId, serialNumber: `SN${String(index + 1).padStart(6, '0')}` },
      softwareIdentity: { model: seed.model, firmwareVersion: '2.6.1.0' },
      deviceState: seed.state ?? 'ONLINE',
      capabilities: seed.battery === false ? ['audio-channels'] : ['audio-channels', 'battery'],
    },
    battery:
      seed.battery === false
        ? undefined
        : { percentage: 60 + Math.floor(random() * 40), status: 'DISCHARGING', cycleCount: 10 + index, health: 95 },
    channels: Array.from({ length: seed.channels ?? 1 }, (_, c) => ({
      id: channelId(seed.deviceId, c + 1),
      name: `${seed.model} ch${c + 1}`,
      audioLevel: 'GOOD' as AudioLevel,
    })),
  }));
}

const LEVELS: readonly AudioLevel[] = ['LOW', 'GOOD', 'GOOD', 'GOOD', 'CLIPPING'];

/** One simulation step: batteries drain a little, audio levels move. */
export function tickDevices(devices: MockDevice[], random: () => number): void {
  for (const device of devices) {
    if (device.node.deviceState !== 'ONLINE') continue;
    const battery = device.battery;
    if (battery) {
      if (random() < 0.5) battery.percentage = Math.max(0, battery.percentage - 1);
      battery.status = battery.percentage <= 10 ? 'CRITICAL' : 'DISCHARGING';
      // A drained transmitter gets its batteries changed: back to full, one more cycle.
      if (battery.percentage === 0) {
        battery.percentage = 100;
        battery.cycleCount += 1;
        battery.status = 'FULL';
      }
    }
    for (const channel of device.channels) {
      channel.audioLevel = LEVELS[Math.floor(random() * LEVELS.length)] ?? 'GOOD';
    }
  }
}
