import { decodeClientKey, encodeClientKey } from '../key-encoding.js';

/**
 * Key layout. Every key of one client carries the client key as its hash tag, so a script can
 * touch them all on Redis Cluster:
 *
 * - `<prefix>{<client>}:l:<limitId>` — one limit's state (string, hash or sorted set);
 * - `<prefix>{<client>}:score` — the adaptive score (hash);
 * - `<prefix>{<client>}:index` — the client's limit ids with their specs, and last activity
 *   (hash); what get/reset/list/cleanup read;
 * - `<prefix>config` — shared runtime config (hash: version, data).
 *
 * `{`, `}` and `%` in client keys are %-escaped so the tag always holds the whole client key.
 */
export class KeyLayout {
  constructor(readonly prefix: string) {}

  tag(clientKey: string): string {
    return `${this.prefix}{${encodeClientKey(clientKey)}}`;
  }

  limit(tag: string, limitId: string): string {
    return `${tag}:l:${limitId}`;
  }

  score(tag: string): string {
    return `${tag}:score`;
  }

  index(tag: string): string {
    return `${tag}:index`;
  }

  get config(): string {
    return `${this.prefix}config`;
  }

  /** SCAN pattern matching every client's index key. */
  get indexPattern(): string {
    return `${this.prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}{*}:index`;
  }

  /** The client key of an index key found by SCAN, or undefined if it is not one of ours. */
  clientOfIndex(indexKey: string): string | undefined {
    const head = `${this.prefix}{`;
    const tail = '}:index';
    if (!indexKey.startsWith(head) || !indexKey.endsWith(tail)) return undefined;
    const encoded = indexKey.slice(head.length, indexKey.length - tail.length);
    if (encoded.includes('}')) return undefined;
    return decodeClientKey(encoded);
  }
}
