// A window's keyed state: key id → entry, the table every generated fold looks its keys up in.
//
// A Map does this job, but it is the hot spot of a keyed aggregate over many distinct strings (word
// count: every word a fresh string, 15.6M lookups in a table of 50k). This table is open addressing
// with linear probing over an index of slots, and keeps the entries themselves in dense arrays in
// the order they were added, as a Map iterates:
// - a lookup compares a 32-bit hash kept per entry before it compares keys;
// - reading the entries (a window firing, a snapshot) is a walk over arrays, and a walk by position
//   stays valid while entries are added (a snapshot is read while the records go on).
// Keys are compared as a Map compares them (SameValueZero: NaN is one key, -0 is 0). Entries are
// never removed one by one: a window is dropped whole when it fires.
import type { AggregateEntry, EntryTable, KeyId } from "../plan.js";

const EMPTY = 0;
const float = new Float64Array(1);
const words = new Int32Array(float.buffer);
/**
 * Chosen per process, as V8 seeds its own Map hashes: keys that come from outside (a socket, a
 * file) cannot be picked to share slots and make every lookup a walk. Only the order of the slots
 * depends on it; the entries keep the order they came in, so output is the same in every process.
 */
const SEED = (Math.random() * 2 ** 32) | 0;

/** A 32-bit hash of a key id, the same for every id SameValueZero calls equal (in this process). */
export function hashKeyId(id: KeyId): number {
  let h: number;
  if (typeof id === "string") {
    h = 0x811c9dc5 ^ SEED;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  } else if (typeof id === "number") {
    if ((id | 0) === id) h = id | 0; // (-0 too)
    else if (id !== id) h = 0x7ff80000; // every NaN
    else {
      float[0] = id;
      h = words[0]! ^ Math.imul(words[1]!, 0x9e3779b1);
    }
    h ^= SEED;
  } else h = (id ? 1 : 2) ^ SEED;
  // Murmur3's finaliser: nearby integers (and strings that differ in their last code unit) land far apart.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class KeyTable<V = AggregateEntry> implements EntryTable<V> {
  /** Slot → position of its entry + 1 (EMPTY: free). At most half full. */
  private slots = new Int32Array(16);
  private mask = 15;
  /** Position → the entry's key id, hash and value, in the order the entries were added. */
  private ids: KeyId[] = anyValues();
  private hashes = new Int32Array(8);
  private vals: V[] = anyValues();

  /**
   * `expected`: about how many entries it will hold (the size of a window before it), so that a
   * window of ten thousand keys is not grown eleven times from sixteen slots.
   */
  constructor(expected = 0) {
    if (expected > 8) {
      let slots = 16;
      while (slots < expected * 2 + 2) slots *= 2;
      this.slots = new Int32Array(slots);
      this.mask = slots - 1;
      this.hashes = new Int32Array(expected + 1);
    }
  }

  get size(): number {
    return this.ids.length;
  }

  get(id: KeyId): V | undefined {
    const h = hashKeyId(id);
    const slots = this.slots;
    const mask = this.mask;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const d = slots[s]!;
      if (d === EMPTY) return undefined;
      if (this.hashes[d - 1] === h) {
        const k = this.ids[d - 1];
        if (k === id || (k !== k && id !== id)) return this.vals[d - 1];
      }
    }
  }

  set(id: KeyId, value: V): this {
    const h = hashKeyId(id);
    const mask = this.mask;
    let s = h & mask;
    for (; ; s = (s + 1) & mask) {
      const d = this.slots[s]!;
      if (d === EMPTY) break;
      if (this.hashes[d - 1] === h) {
        const k = this.ids[d - 1];
        if (k === id || (k !== k && id !== id)) {
          this.vals[d - 1] = value;
          return this;
        }
      }
    }
    const at = this.ids.length;
    if (at === this.hashes.length) {
      const hashes = new Int32Array(at * 2);
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    this.ids.push(id === 0 ? 0 : id); // (a Map keeps -0 as 0)
    this.vals.push(value);
    this.hashes[at] = h;
    this.slots[s] = at + 1;
    if ((at + 1) * 2 > mask) this.grow();
    return this;
  }

  /** The key id of the entry at `position` (0 … size - 1, in the order added). */
  idAt(position: number): KeyId {
    return this.ids[position]!;
  }

  /** The value of the entry at `position`. */
  valueAt(position: number): V {
    return this.vals[position]!;
  }

  private grow(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    const hashes = this.hashes;
    for (let i = 0; i < this.ids.length; i++) {
      let s = hashes[i]! & mask;
      while (slots[s] !== EMPTY) s = (s + 1) & mask;
      slots[s] = i + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/**
 * An empty array that holds any value from the start. One that first held small integers (number
 * keys) would change its kind at the first double, and every optimized function that had read it
 * (the folds, a window firing) would be thrown away and compiled again, once per process.
 */
function anyValues<T>(): T[] {
  const a: unknown[] = [""];
  a.pop();
  return a as T[];
}
