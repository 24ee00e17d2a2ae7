/**
 * A bounded table of per-client state, built for the memory store's hot path.
 *
 * Layout: a `Map<string, slot>` (the slot is a small integer, so the map holds no heap number)
 * and one `Float64Array` with two numbers per slot, side by side so a decision touches one cache
 * line: `data[2 * slot]` is when the state becomes equivalent to none (a token-bucket state *is*
 * that number: its GCRA theoretical arrival time, the moment the bucket is full again), and
 * `data[2 * slot + 1]` the last activity in ms, stored as `-(ms + 1)` while the client is limited.
 * Other states keep an object in `values`.
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
  /**
   * [2 * slot]: when the state is equivalent to none (bucket: the TAT; free slot: next free slot);
   * [2 * slot + 1]: last activity in ms since the epoch, or `-(ms + 1)` while limited.
   */
  data: Float64Array;
  /** slot -> state object, for tables whose state is not a single number. */
  readonly values: (V | undefined)[] | undefined;

  /** Slots in use (size of `index`). */
  size = 0;
  /**
   * How long after its last activity a limited slot is kept from eviction, in ms. Infinity for
   * limit states, which expire by themselves once the limit is restored; an adaptive score's
   * state lives for days, and its penalty fades long before that.
   */
  limitedForMs = Infinity;
  /** Slots ever handed out: [0, highWater) is the probed region. */
  private highWater = 0;
  private freeHead = -1;
  private hand = 0;
  private sweepHand = 0;
  constructor(
    readonly maxKeys: number,
    withValues: boolean,
  ) {
    this.data = new Float64Array(2 * Math.min(INITIAL_CAPACITY, maxKeys));
    this.values = withValues ? [] : undefined;
  }

  /** Last activity of a slot, in ms since the epoch. */
  lastSeen(slot: number): number {
    const v = this.data[2 * slot + 1] as number;
    return v < 0 ? -v - 1 : v;
  }

  /** Whether the slot's last decision was a denial. */
  limited(slot: number): boolean {
    return (this.data[2 * slot + 1] as number) < 0;
  }

  /** Marks a slot active at `now` (ms since the epoch, >= 0), limited or not. */
  touch(slot: number, now: number, limited: boolean): void {
    this.data[2 * slot + 1] = limited ? -now - 1 : now;
  }

  /** Clears the limited mark, keeping the last activity. */
  unlimit(slot: number): void {
    const v = this.data[2 * slot + 1] as number;
    if (v < 0) this.data[2 * slot + 1] = -v - 1;
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
      this.freeHead = this.data[2 * slot] as number;
    } else {
      if (2 * this.highWater === this.data.length) this.grow();
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
    this.data[2 * slot] = this.freeHead;
    this.data[2 * slot + 1] = 0;
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
      if (this.keys[slot] !== undefined && (this.data[2 * slot] as number) <= now - SWEEP_GRACE_MS) this.remove(slot);
    }
  }

  /**
   * Chooses the slot to evict among the next {@link PROBES} used slots: the first expired one,
   * else the least recently active one that is not limited (or was limited more than
   * `limitedForMs` ago); -1 if all probed ones are limited.
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
      if ((this.data[2 * slot] as number) <= now) return slot;
      let seen = this.data[2 * slot + 1] as number;
      if (seen < 0) {
        seen = -seen - 1;
        if (seen > now - this.limitedForMs) continue;
      }
      if (seen < bestSeen) {
        bestSeen = seen;
        best = slot;
      }
    }
    return best;
  }

  private grow(): void {
    const capacity = this.data.length / 2;
    // Double up to maxKeys; past it (only limited clients pinned) grow by a quarter.
    const next = capacity < this.maxKeys ? Math.min(capacity * 2, this.maxKeys) : capacity + Math.max(16, capacity >> 2);
    const data = new Float64Array(2 * next);
    data.set(this.data);
    this.data = data;
  }

  /** Forgets everything. */
  clear(): void {
    this.index.clear();
    this.keys = [];
    if (this.values) this.values.length = 0;
    this.data = new Float64Array(2 * Math.min(INITIAL_CAPACITY, this.maxKeys));
    this.size = 0;
    this.highWater = 0;
    this.freeHead = -1;
    this.hand = 0;
    this.sweepHand = 0;
  }
}
