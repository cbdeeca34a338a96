// Expected and actual records of a test, compared and shown as a diff. Records are compared by
// value (field order does not matter, a missing optional field equals an absent one); a multiset
// comparison sorts both sides first, so the diff lines up the records they share.

export interface DiffLine {
  kind: "same" | "missing" | "extra";
  /** The record in Flow's literal syntax: `{ key: "a", count: 1 }`. */
  text: string;
}

/** Empty when the records match; otherwise every record, marked same, missing (expected only) or extra (produced only). */
export function diffRecords(expected: readonly unknown[], actual: readonly unknown[], ordered: boolean): DiffLine[] {
  let exp = expected.map((v) => ({ key: canonical(v), text: formatValue(v) }));
  let act = actual.map((v) => ({ key: canonical(v), text: formatValue(v) }));
  if (!ordered) {
    const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    exp = [...exp].sort(byKey);
    act = [...act].sort(byKey);
  }
  if (exp.length === act.length && exp.every((e, i) => e.key === act[i]!.key)) return [];
  // Longest common subsequence, then walk it.
  const n = exp.length;
  const m = act.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = exp[i]!.key === act[j]!.key ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && exp[i]!.key === act[j]!.key) {
      out.push({ kind: "same", text: exp[i]!.text });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push({ kind: "missing", text: exp[i++]!.text });
    else out.push({ kind: "extra", text: act[j++]!.text });
  }
  return out;
}

/** A stable text of a value: object keys sorted, undefined fields dropped. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "undefined";
}

/** A value as a Flow literal. */
export function formatValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(formatValue).join(", ")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return entries.length === 0 ? "{}" : `{ ${entries.map(([k, x]) => `${k}: ${formatValue(x)}`).join(", ")} }`;
  }
  return JSON.stringify(v) ?? "undefined";
}
