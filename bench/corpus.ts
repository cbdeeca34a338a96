// The word-count corpus of W2: deterministic text of about `bytes` bytes whose words follow a Zipf
// distribution over a synthetic vocabulary, from a seeded PRNG. Written once per (size, seed) into
// bench/.data (gitignored) and reused by every later run.
import { createWriteStream, existsSync, mkdirSync, renameSync } from "node:fs";
import { once } from "node:events";
import { join } from "node:path";

const VOCABULARY_SIZE = 50_000;
const ZIPF_EXPONENT = 1.05;

/** mulberry32: small, fast and the same everywhere. */
export function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function vocabulary(random: () => number): string[] {
  const letters = "etaoinshrdlcumwfgypbvkjxqz";
  const seen = new Set<string>();
  const words: string[] = [];
  while (words.length < VOCABULARY_SIZE) {
    const len = 2 + Math.floor(random() * 9);
    let w = "";
    // Skewed towards common letters, as in English.
    for (let i = 0; i < len; i++) w += letters[Math.floor(random() ** 2 * letters.length)];
    if (random() < 0.02) w += "'s";
    if (!seen.has(w)) {
      seen.add(w);
      words.push(w);
    }
  }
  return words;
}

/** Path of the corpus, generating it first when it is not cached yet. */
export async function corpus(dir: string, bytes: number, seed: number): Promise<string> {
  const path = join(dir, `corpus-${bytes}-${seed}.txt`);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const random = prng(seed);
  const words = vocabulary(random);
  const cumulative = new Float64Array(words.length);
  let total = 0;
  for (let i = 0; i < words.length; i++) cumulative[i] = total += 1 / (i + 1) ** ZIPF_EXPONENT;
  const pick = (): string => {
    const x = random() * total;
    let lo = 0;
    let hi = words.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return words[lo]!;
  };
  const tmp = `${path}.${process.pid}.tmp`;
  const out = createWriteStream(tmp);
  let written = 0;
  let chunk: string[] = [];
  while (written < bytes) {
    const n = 6 + Math.floor(random() * 12);
    const line: string[] = [];
    for (let i = 0; i < n; i++) line.push(pick());
    // Capitals and punctuation, so that lower() and the split regex have work to do.
    line[0] = line[0]![0]!.toUpperCase() + line[0]!.slice(1);
    if (random() < 0.3) line[Math.floor(random() * n)] += ",";
    const text = `${line.join(" ")}.\n`;
    written += text.length;
    chunk.push(text);
    if (chunk.length >= 4096) {
      if (!out.write(chunk.join(""))) await once(out, "drain");
      chunk = [];
    }
  }
  out.end(chunk.join(""));
  await once(out, "finish");
  renameSync(tmp, path);
  return path;
}
