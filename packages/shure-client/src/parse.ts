import type { AudioChannel, AudioLevel, BatteryHealth, BatteryLevel, ShureDevice } from './types.js';

/** Thrown by a parser when the answer is not the shape a method expects; becomes an `invalid-response` failure. */
export class ResponseShapeError extends Error {
  override readonly name = 'ResponseShapeError';
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A page of a paginated list: `{ pageInfo, edges: [{ cursor, node }] }`, or a bare array (one page). */
export interface Page {
  readonly nodes: unknown[];
  /** The cursor to ask for the next page with, or undefined on the last page. */
  readonly next: string | undefined;
}

export function parsePage(body: unknown, what: string): Page {
  if (Array.isArray(body)) return { nodes: body, next: undefined };
  if (!isObject(body) || !Array.isArray(body['edges'])) {
    throw new ResponseShapeError(`${what}: expected { edges: [...] } or an array`);
  }
  const nodes = body['edges'].map((edge: unknown) => {
    if (!isObject(edge)) throw new ResponseShapeError(`${what}: an edge is not an object`);
    return edge['node'];
  });
  const info = isObject(body['pageInfo']) ? body['pageInfo'] : {};
  const endCursor = info['endCursor'];
  const hasNext = info['hasNextPage'] === true && typeof endCursor === 'string' && endCursor !== '';
  return { nodes, next: hasNext ? endCursor : undefined };
}

export function parseDevice(node: unknown): ShureDevice {
  if (!isObject(node)) throw new ResponseShapeError('device: not an object');
  const hardware = node['hardwareIdentity'];
  const software = node['softwareIdentity'];
  if (!isObject(hardware) || typeof hardware['deviceId'] !== 'string') {
    throw new ResponseShapeError('device: hardwareIdentity.deviceId missing');
  }
  const software_ = isObject(software) ? software : {};
  return {
    ...node,
    hardwareIdentity: {
      ...hardware,
      deviceId: hardware['deviceId'],
      serialNumber: typeof hardware['serialNumber'] === 'string' ? hardware['serialNumber'] : '',
    },
    softwareIdentity: {
      ...software_,
      model: typeof software_['model'] === 'string' ? software_['model'] : '',
      firmwareVersion: typeof software_['firmwareVersion'] === 'string' ? software_['firmwareVersion'] : '',
    },
    deviceState: typeof node['deviceState'] === 'string' ? node['deviceState'] : 'UNKNOWN',
    capabilities: node['capabilities'],
  };
}

export function parseBatteryLevel(body: unknown): BatteryLevel {
  if (!isObject(body) || typeof body['percentage'] !== 'number') {
    throw new ResponseShapeError('battery-level: percentage missing');
  }
  return { percentage: body['percentage'], status: typeof body['status'] === 'string' ? body['status'] : 'UNKNOWN' };
}

export function parseBatteryHealth(body: unknown): BatteryHealth {
  if (!isObject(body) || typeof body['percentage'] !== 'number') {
    throw new ResponseShapeError('battery-health: percentage missing');
  }
  return { percentage: body['percentage'], cycleCount: typeof body['cycleCount'] === 'number' ? body['cycleCount'] : 0 };
}

export function parseChannel(node: unknown): AudioChannel {
  if (!isObject(node)) throw new ResponseShapeError('audio channel: not an object');
  const id = node['id'] ?? node['channelId'];
  if (typeof id !== 'string' || id === '') throw new ResponseShapeError('audio channel: id missing');
  return { id, name: typeof node['name'] === 'string' ? node['name'] : undefined };
}

export function parseActivity(body: unknown): AudioLevel {
  if (!isObject(body) || typeof body['audioLevel'] !== 'string') {
    throw new ResponseShapeError('activity: audioLevel missing');
  }
  return body['audioLevel'];
}

export function parseIps(body: unknown): string[] {
  if (!isObject(body) || !Array.isArray(body['ips']) || !body['ips'].every((ip) => typeof ip === 'string')) {
    throw new ResponseShapeError('discovery ips: expected { ips: [string, ...] }');
  }
  return body['ips'] as string[];
}
