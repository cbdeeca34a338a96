// "Did you mean ...?": the closest candidate by edit distance, when it is close enough to be a typo.

/** A typo is a few edits: no suggestion is worth more than this many, however long the name. */
const MAX_EDITS = 16;

/**
 * Edit distance with transpositions (fitler → filter counts as one edit), computed only as far as
 * `max`: any distance above it comes back as `max + 1`. Only a band of 2·max + 1 cells per row is
 * filled, so two names of 100 000 characters cost milliseconds, not minutes.
 */
export function editDistance(a: string, b: string, max = Math.max(a.length, b.length)): number {
  const m = a.length;
  const n = b.length;
  const over = max + 1;
  if (Math.abs(m - n) > max) return over;
  // Three rows, reused; a cell outside a row's band reads as `over`.
  let prevPrev = new Array<number>(n + 1).fill(over);
  let prev = new Array<number>(n + 1).fill(over);
  let cur = new Array<number>(n + 1).fill(over);
  for (let j = 0; j <= Math.min(n, max); j++) prev[j] = j;
  let prevBest = 0;
  for (let i = 1; i <= m; i++) {
    const lo = Math.max(1, i - max);
    const hi = Math.min(n, i + max);
    cur[lo - 1] = lo === 1 && i <= max ? i : over;
    let best = cur[lo - 1]!;
    for (let j = lo; j <= hi; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prevPrev[j - 2]! + 1);
      cur[j] = Math.min(d, over);
      best = Math.min(best, cur[j]!);
    }
    if (hi < n) cur[hi + 1] = over;
    // Later cells build on this row, or (a transposition) on the previous one, plus one.
    if (best > max && prevBest > max - 1) return over;
    prevBest = best;
    [prevPrev, prev, cur] = [prev, cur, prevPrev];
  }
  return Math.min(prev[n]!, over);
}

export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  const lower = name.toLowerCase();
  const limit = Math.min(MAX_EDITS, Math.max(1, Math.floor(name.length / 3)));
  let bestD = limit + 1;
  for (const c of candidates) {
    if (c.toLowerCase() === lower) return c;
    const d = editDistance(lower, c.toLowerCase(), bestD - 1);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}
