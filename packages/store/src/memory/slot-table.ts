/**
 * A bounded table of per-client state, built for the memory store's hot path.
 *
 * Layout: a `Map<string, slot>` (the slot is a small integer, so the map holds no heap number)
 * and parallel typed arrays indexed by slot. A token-bucket state is one number, its GCRA
 * theoretical arrival time, kept in `expires` itself: that number is also the moment the bucket
 * is full again, i.e. when the state becomes equivalent to no state at all. Other states keep an
 * object in `values` and their "equivalent to fresh" time in `expires`.
 *
 * Bounding: when the table holds `maxKeys` states, inserting a new one first looks at a few slots
 * after a moving hand and takes the first expired one, else the least recently active one that is
 * not currently limited. A limited client (last decision denied, state not expired) is never
 * evicted: evicting it would hand it a fresh budget. If every probed slot is limited the table
 * grows past `maxKeys` instead; those states expire by themselves within their retry time.
 *
 * Sweeping: every insertion also checks a couple of slots after a second hand and frees ones
 * expired for a while, so dead state is collected a little at a time, with no timer and no long
 * pause.
 */

/** Last decision was a denial: the slot may not be evicted until it expires. */
export const LIMITED = 1;

const PROBES = 16;
const SWEEP_PER_INSERT = 2;
const INITIAL_CAPACITY = 1024;
/**
 * The sweeper frees a state only this long after it expired. An expired state is worth the same
 * as none, but a busy client's state expires and comes back every few ms (a bucket refilled to
 * full between two requests); freeing and re-inserting it each time would churn the map.
 */
export const SWEEP_GRACE_MS = 30_000;

export class SlotTable<V = never> {
  readonly index = new Map<string, number>();
  /** slot -> client key; undefined for a free slot. */
  keys: (string | undefined)[] = [];
  /** slot -> when the state is equivalent to none (bucket: the TAT); free slot: next free slot. */
  expires: Float64Array;
  /** slot -> last activity, whole seconds after `base` (4 bytes instead of 8). */
  seen: Uint32Array;
  flags: Uint8Array;
  /** slot -> state object, for tables whose state is not a single number. */
  readonly values: (V | undefined)[] | undefined;

  /** Slots in use (size of `index`). */
  size = 0;
  /** Slots ever handed out: [0, highWater) is the probed region. */
  private highWater = 0;
  private freeHead = -1;
  private hand = 0;
  private sweepHand = 0;
  /** Time origin of `seen`; set by the first write. */
  private base = Number.NaN;

  constructor(
    readonly maxKeys: number,
    withValues: boolean,
  ) {
    const capacity = Math.min(INITIAL_CAPACITY, maxKeys);
    this.expires = new Float64Array(capacity);
    this.seen = new Uint32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.values = withValues ? [] : undefined;
  }

  /** Seconds-after-base for `now`, clamped to the Uint32 range. */
  secondsOf(now: number): number {
    // Consecutive decisions mostly share one ms: skip the arithmetic then.
    if (now === this.lastNow) return this.lastSeconds;
    if (this.base !== this.base) this.base = now;
    // Rounded up, so cleanup() never takes a client for older than it is.
    const c = Math.ceil((now - this.base) / 1000);
    const s = c <= 0 ? 0 : c >= 0xffffffff ? 0xffffffff : c;
    this.lastNow = now;
    this.lastSeconds = s;
    return s;
  }
  private lastNow = Number.NaN;
  private lastSeconds = 0;

  /** Last activity of a slot in ms since the epoch (to the second). */
  lastSeen(slot: number): number {
    return this.base + (this.seen[slot] as number) * 1000;
  }

  /** Marks a slot active now, limited or not. */
  touch(slot: number, now: number, limited: boolean): void {
    this.seen[slot] = this.secondsOf(now);
    const flag = limited ? LIMITED : 0;
    if (this.flags[slot] !== flag) this.flags[slot] = flag;
  }

  /** Allocates a slot for `key` (which must not be present), evicting or sweeping as needed. */
  insert(key: string, now: number): number {
    this.sweep(now, SWEEP_PER_INSERT);
    let slot: number;
    // At capacity one state makes room; past it (limited clients kept) two go, so the table
    // converges back to maxKeys once those clients are evictable again.
    for (let room = this.size - this.maxKeys + 1, i = 0; room > 0 && i < 2; room--, i++) {
      const victim = this.pickVictim(now);
      if (victim < 0) break;
      this.remove(victim);
    }
    if (this.freeHead >= 0) {
      slot = this.freeHead;
      this.freeHead = this.expires[slot] as number;
    } else {
      if (this.highWater === this.expires.length) this.grow();
      slot = this.highWater++;
    }
    this.keys[slot] = key;
    this.index.set(key, slot);
    this.size++;
    return slot;
  }

  /** Frees a slot. */
  remove(slot: number): void {
    const key = this.keys[slot];
    if (key === undefined) return;
    this.index.delete(key);
    this.keys[slot] = undefined;
    if (this.values) this.values[slot] = undefined;
    this.flags[slot] = 0;
    this.expires[slot] = this.freeHead;
    this.freeHead = slot;
    this.size--;
  }

  /** Whether a slot is in use. */
  used(slot: number): boolean {
    return this.keys[slot] !== undefined;
  }

  /** Slots ever handed out; iterate [0, end) and skip unused ones. */
  get end(): number {
    return this.highWater;
  }

  /** Frees up to `count` expired slots after the sweep hand. */
  sweep(now: number, count: number): void {
    const end = this.highWater;
    if (end === 0) return;
    for (let i = 0; i < count; i++) {
      const slot = this.sweepHand;
      this.sweepHand = slot + 1 >= end ? 0 : slot + 1;
      if (this.keys[slot] !== undefined && (this.expires[slot] as number) <= now - SWEEP_GRACE_MS) this.remove(slot);
    }
  }

  /**
   * Chooses the slot to evict among the next {@link PROBES} used slots: the first expired one,
   * else the least recently active one that is not limited; -1 if all probed ones are limited.
   */
  private pickVictim(now: number): number {
    const end = this.highWater;
    let best = -1;
    let bestSeen = Infinity;
    let probed = 0;
    // Bounded: at most `end` steps even if most slots are free, and at most PROBES used slots.
    for (let steps = 0; steps < end && probed < PROBES; steps++) {
      const slot = this.hand;
      this.hand = slot + 1 >= end ? 0 : slot + 1;
      if (this.keys[slot] === undefined) continue;
      probed++;
      const expired = (this.expires[slot] as number) <= now;
      if (expired) return slot;
      if ((this.flags[slot] as number) & LIMITED) continue;
      const seen = this.seen[slot] as number;
      if (seen < bestSeen) {
        bestSeen = seen;
        best = slot;
      }
    }
    return best;
  }

  private grow(): void {
    const capacity = this.expires.length;
    // Double up to maxKeys; past it (only limited clients pinned) grow by a quarter.
    const next = capacity < this.maxKeys ? Math.min(capacity * 2, this.maxKeys) : capacity + Math.max(16, capacity >> 2);
    const expires = new Float64Array(next);
    expires.set(this.expires);
    const seen = new Uint32Array(next);
    seen.set(this.seen);
    const flags = new Uint8Array(next);
    flags.set(this.flags);
    this.expires = expires;
    this.seen = seen;
    this.flags = flags;
  }

  /** Forgets everything. */
  clear(): void {
    this.index.clear();
    this.keys = [];
    if (this.values) this.values.length = 0;
    const capacity = Math.min(INITIAL_CAPACITY, this.maxKeys);
    this.expires = new Float64Array(capacity);
    this.seen = new Uint32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.size = 0;
    this.highWater = 0;
    this.freeHead = -1;
    this.hand = 0;
    this.sweepHand = 0;
  }
}
