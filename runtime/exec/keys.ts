// Keys, key groups and partitions. A key hashes into one of `keyGroups` groups (fixed for the life
// of a job); partition p of N owns a contiguous range of groups. State is stored per key group, so a
// job restored with another partition count hands whole groups to new owners without loss.

/** A key usable as a Map key: primitives as they are, arrays and records as canonical JSON. */
export function keyId(key: unknown): string | number | boolean {
  if (typeof key === "string" || typeof key === "number" || typeof key === "boolean") return key;
  return canonicalJson(key);
}

function canonicalJson(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (typeof v === "object") {
    const keys = Object.keys(v as object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** 32-bit FNV-1a over a string (deterministic across processes and runs). */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Murmur3's finaliser over a number's integer bits, so nearby integers spread over groups. */
function hashNumber(n: number): number {
  let h = Number.isInteger(n) && Math.abs(n) < 2 ** 31 ? n | 0 : hashString(String(n));
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hashKey(id: string | number | boolean): number {
  if (typeof id === "string") return hashString(id);
  if (typeof id === "number") return hashNumber(id);
  return id ? 1 : 0;
}

export function keyGroupOf(id: string | number | boolean, keyGroups: number): number {
  return hashKey(id) % keyGroups;
}

export function partitionOfKeyGroup(keyGroup: number, keyGroups: number, partitions: number): number {
  return Math.floor((keyGroup * partitions) / keyGroups);
}

/** The key groups partition `p` of `partitions` owns: [start, end). */
export function keyGroupRange(p: number, partitions: number, keyGroups: number): [number, number] {
  const start = Math.ceil((p * keyGroups) / partitions);
  const end = Math.ceil(((p + 1) * keyGroups) / partitions);
  return [start, end];
}
