// A deterministic text corpus for word counts of any size: Zipf-distributed words from a seeded
// generator, so every run (and the embedded reference) reads the same bytes.
import { closeSync, openSync, writeSync } from "node:fs";

/** A seeded PRNG (mulberry32): the corpus, and the moments and victims of the fault tests. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes about `bytes` bytes of lines of 12 words each to `path`. */
export function writeCorpus(path: string, bytes: number, seed = 42, vocabulary = 5000): void {
  const random = mulberry32(seed);
  const words = Array.from({ length: vocabulary }, (_, i) => `w${i.toString(36)}`);
  // Cumulative Zipf weights, searched by bisection.
  const cumulative: number[] = [];
  let total = 0;
  for (let i = 0; i < vocabulary; i++) cumulative.push((total += 1 / (i + 1)));
  const pick = () => {
    const x = random() * total;
    let lo = 0;
    let hi = vocabulary - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return words[lo]!;
  };
  const fd = openSync(path, "w");
  try {
    let written = 0;
    while (written < bytes) {
      const lines: string[] = [];
      for (let i = 0; i < 20_000; i++) {
        const line: string[] = [];
        for (let j = 0; j < 12; j++) line.push(pick());
        lines.push(line.join(" "));
      }
      const chunk = lines.join("\n") + "\n";
      written += writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
}
