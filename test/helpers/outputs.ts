// Reading a job's committed file output in the tests: lines, multisets, per-key sequences of a
// running aggregate, and leftover staged files.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Every published line of the part files, by file (headers dropped). */
export function published(out: string): string[] {
  const lines: string[] = [];
  for (const f of readdirSync(out).filter((x) => /^part-\d+\.(csv|jsonl)$/.test(x))) {
    const all = readFileSync(join(out, f), "utf8").split("\n").filter((l) => l !== "");
    for (const l of f.endsWith(".csv") ? all.slice(1) : all) lines.push(l);
  }
  return lines;
}

export function multiset(lines: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
}

/** Up to 10 lines whose counts differ: `line: got × / want ×`. */
export function multisetDiff(got: Map<string, number>, want: Map<string, number>): string[] {
  const diff: string[] = [];
  for (const k of new Set([...got.keys(), ...want.keys()])) {
    if ((got.get(k) ?? 0) !== (want.get(k) ?? 0)) diff.push(`${k}: ${got.get(k) ?? 0}× / ${want.get(k) ?? 0}×`);
    if (diff.length === 10) break;
  }
  return diff;
}

/** Per key, the update counts in file order: 1, 2, 3, … exactly once each. */
export function sequences(out: string): Map<number, number[]> {
  const m = new Map<number, number[]>();
  // In partition order: after rescaling to more partitions a key group moves only to a higher one.
  const files = readdirSync(out).filter((x) => /^part-\d+\.jsonl$/.test(x));
  files.sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]));
  for (const f of files) {
    for (const l of readFileSync(join(out, f), "utf8").split("\n")) {
      if (!l) continue;
      const r = JSON.parse(l) as { key: number; n: number };
      const list = m.get(r.key) ?? [];
      list.push(r.n);
      m.set(r.key, list);
    }
  }
  return m;
}

/** word → count summed over windows (a run may straddle an hour). */
export function wordCounts(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of published(out)) {
    const [w, c] = l.split(",");
    m.set(w!, (m.get(w!) ?? 0) + Number(c));
  }
  return m;
}

export const staged = (out: string) => (existsSync(out) ? readdirSync(out).filter((f) => f.startsWith(".")) : []);
