import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMockServer } from '@micboard/shure-mock';
import type { MockServer } from '@micboard/shure-mock';
import { createShureClient } from '../src/index.js';
import type { PollChanges, PollSnapshot, ShureClient, ShureFailure } from '../src/index.js';
import { waitFor } from './helpers.js';

const KEY = 'poll-key';
let mock: MockServer;
let client: ShureClient;

beforeEach(async () => {
  mock = await createMockServer({ apiKey: KEY, tickMs: 0 });
  // Fast rates and no retries keep the real-time polls short.
  client = createShureClient({
    baseUrl: mock.url,
    apiKey: KEY,
    rates: { getDevices: 100, getTransmitterData: 100 },
    retry: { retries: 0 },
  });
});
afterEach(async () => {
  await client.close();
  await mock.close();
});

describe('polling (real time, short interval)', () => {
  it('emits snapshots with what changed, and stops cleanly', async () => {
    const seen: Array<{ snapshot: PollSnapshot; changes: PollChanges }> = [];
    const poller = client.poll({ intervalMs: 20, onSnapshot: (snapshot, changes) => void seen.push({ snapshot, changes }) });
    await waitFor(() => seen.length >= 1);
    const first = seen[0];
    expect(first?.changes.added.map((d) => d.hardwareIdentity.deviceId)).toEqual(['b3f1c2d4-0001', 'b3f1c2d4-0002', 'b3f1c2d4-0003']);
    expect(Object.keys(first?.snapshot.transmitters ?? {})).toHaveLength(3);
    expect(first?.snapshot.transmitters['b3f1c2d4-0001']?.battery?.level.percentage).toBe(mock.devices[0]?.battery?.percentage);

    // Script a change: one device goes offline, one battery drops.
    const count = seen.length;
    const [one, two] = mock.devices;
    if (one === undefined || two?.battery === undefined) throw new Error('mock devices missing');
    one.node.deviceState = 'OFFLINE';
    two.battery.percentage -= 5;
    await waitFor(() => seen.slice(count).some((s) => s.changes.changed.length > 0));
    const changed = seen.slice(count).find((s) => s.changes.changed.length > 0)?.changes.changed ?? [];
    expect(changed.map((c) => c.deviceId).sort()).toEqual(['b3f1c2d4-0001', 'b3f1c2d4-0002']);
    const battery = changed.find((c) => c.deviceId === 'b3f1c2d4-0002');
    expect((battery?.previousTransmitter?.battery?.level.percentage ?? 0) - (battery?.transmitter?.battery?.level.percentage ?? 0)).toBe(5);
    // An OFFLINE device is listed but its transmitter data is not read.
    expect(seen.at(-1)?.snapshot.transmitters['b3f1c2d4-0001']).toBeUndefined();

    await poller.stop();
    expect(poller.running).toBe(false);
    const requests = mock.requestLog.length;
    const polls = poller.polls;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(mock.requestLog.length).toBe(requests);
    expect(poller.polls).toBe(polls);
  });

  it('reports failed polls and keeps polling until the signal aborts', async () => {
    const failures: ShureFailure[] = [];
    const snapshots: PollSnapshot[] = [];
    mock.faults.down(503);
    const controller = new AbortController();
    const poller = client.poll({
      intervalMs: 10,
      transmitterData: false,
      onSnapshot: (snapshot) => void snapshots.push(snapshot),
      onError: (failure) => failures.push(failure),
      signal: controller.signal,
    });
    await waitFor(() => failures.length >= 2);
    expect(failures[0]).toMatchObject({ kind: 'server-error', method: 'getDevices' });
    mock.faults.down(null);
    await waitFor(() => snapshots.length >= 1);
    controller.abort();
    await waitFor(() => !poller.running);
    const requests = mock.requestLog.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(mock.requestLog.length).toBe(requests);
  });

  it('stops pollers when the client closes, and aborts a poll in progress', async () => {
    mock.faults.latency(5_000);
    const poller = client.poll({ intervalMs: 10, onSnapshot: () => {} });
    await waitFor(() => mock.requestLog.length >= 1);
    const started = Date.now();
    await client.close();
    expect(poller.running).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
