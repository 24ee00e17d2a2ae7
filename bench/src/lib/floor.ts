/**
 * The floor: the least a token bucket in JavaScript can do per decision — one Map lookup, a
 * refill from elapsed time, a compare. No decision object, no validation, no options. Every
 * in-process implementation is measured as a ratio of this.
 */
interface Bucket {
  tokens: number;
  last: number;
}

export interface FloorBucket {
  /** Takes `cost` tokens from `key`'s bucket; false (nothing taken) when there are not enough. */
  take(key: string, cost: number): boolean;
  readonly size: number;
}

/**
 * @param capacity tokens a bucket holds (a new key starts full)
 * @param refillPerSecond tokens added per second
 */
export function createFloorBucket(capacity: number, refillPerSecond: number): FloorBucket {
  const buckets = new Map<string, Bucket>();
  const perMs = refillPerSecond / 1000;
  return {
    take(key, cost) {
      const now = Date.now();
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        bucket = { tokens: capacity, last: now };
        buckets.set(key, bucket);
      } else if (now > bucket.last) {
        bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.last) * perMs);
        bucket.last = now;
      }
      if (bucket.tokens < cost) return false;
      bucket.tokens -= cost;
      return true;
    },
    get size() {
      return buckets.size;
    },
  };
}
