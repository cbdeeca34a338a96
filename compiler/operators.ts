// The pipeline operators a .flow file can apply with `|>`: one entry each, with what the checker,
// the docs, hover and completion need. `supported: false` operators are parsed and type-checked
// but reported as "not supported yet" (FLOW2018) until their runtime exists.

export interface OperatorInfo {
  name: string;
  signature: string;
  doc: string;
  kind: "stateless" | "keying" | "window" | "aggregate" | "multi-input" | "time";
  supported: boolean;
  /** The pipeline steps of a small example over `source words: string` (see operatorExample). */
  example: string;
}

export const OPERATORS: OperatorInfo[] = [
  { name: "map", signature: "map(x => e)", doc: "One output per input: the value of `e`.", kind: "stateless", supported: true, example: `words |> map(w => { word: w, n: len(w) }) |> sink stdout()` },
  { name: "flatMap", signature: "flatMap(x => e)", doc: "`e` is an array; each of its elements is emitted.", kind: "stateless", supported: true, example: `words |> flatMap(w => split(w, "-")) |> sink stdout()` },
  { name: "filter", signature: "filter(x => cond)", doc: "Keeps the elements for which `cond` is true.", kind: "stateless", supported: true, example: `words |> filter(w => len(w) > 3) |> sink stdout()` },
  { name: "keyBy", signature: "keyBy(x => k)", doc: "Partitions the stream by key: a hash exchange across partitions. Aggregates need a keyed stream.", kind: "keying", supported: true, example: `words |> keyBy(w => lower(w)) |> count() |> sink stdout()` },
  { name: "window", signature: "window(tumbling(size))", doc: "Windows a keyed stream with `tumbling(size)`, `sliding(size, every: slide)` or `session(gap: g)`, in event time after `watermark` and processing time otherwise; the aggregate that follows emits once per window, when it closes. `late: NAME` names a stream of the elements that arrive behind the watermark (otherwise they are counted and dropped).", kind: "window", supported: true, example: `words |> keyBy(w => w) |> window(tumbling(1m)) |> count() |> sink stdout()` },
  { name: "count", signature: "count()", doc: "Number of elements per key: `{ key, count }`.", kind: "aggregate", supported: true, example: `words |> keyBy(w => w) |> count() |> sink stdout()` },
  { name: "sum", signature: "sum(x => e)", doc: "Sum of `e` per key: `{ key, sum }`.", kind: "aggregate", supported: true, example: `words |> keyBy(w => substr(w, 0, 1)) |> sum(w => len(w)) |> sink stdout()` },
  { name: "min", signature: "min(x => e)", doc: "Smallest `e` per key: `{ key, min }`.", kind: "aggregate", supported: true, example: `words |> keyBy(w => substr(w, 0, 1)) |> min(w => len(w)) |> sink stdout()` },
  { name: "max", signature: "max(x => e)", doc: "Largest `e` per key: `{ key, max }`.", kind: "aggregate", supported: true, example: `words |> keyBy(w => substr(w, 0, 1)) |> max(w => len(w)) |> sink stdout()` },
  { name: "avg", signature: "avg(x => e)", doc: "Mean of `e` per key (a float): `{ key, avg }`.", kind: "aggregate", supported: true, example: `words |> keyBy(w => substr(w, 0, 1)) |> avg(w => len(w)) |> sink stdout()` },
  { name: "reduce", signature: "reduce((a, b) => e)", doc: "Combines the values of one key: `{ key, value }`.", kind: "aggregate", supported: true, example: `words |> keyBy(w => len(w)) |> reduce((a, b) => a < b ? a : b) |> sink stdout()` },
  { name: "aggregate", signature: "aggregate({ name: count(), other: sum(x => e), ... })", doc: "Several aggregates at once: `key` plus the named fields.", kind: "aggregate", supported: true, example: `words |> keyBy(w => substr(w, 0, 1)) |> aggregate({ n: count(), longest: max(w => len(w)) }) |> sink stdout()` },
  { name: "union", signature: "union(other)", doc: "Merges two streams of the same type.", kind: "multi-input", supported: true, example: `words |> union(words |> map(w => upper(w))) |> sink stdout()` },
  { name: "watermark", signature: "watermark(x => x.ts, delay: 5s)", doc: "Assigns event time and emits watermarks trailing the largest timestamp by `delay`.", kind: "time", supported: true, example: `words |> map(w => { w: w, ts: 0 }) |> watermark(r => r.ts, delay: 5s) |> sink stdout()` },
  { name: "join", signature: "join(other, on: (a, b) => a.k == b.k, within: 10m)", doc: "Interval join on equal keys, timestamps at most `within` apart: `{ left, right }`.", kind: "multi-input", supported: true, example: `words |> join(words, on: (a, b) => a == b, within: 10m) |> sink stdout()` },
  { name: "distinct", signature: "distinct(x => k, within: 1h)", doc: "Drops repeats of a key seen within the interval.", kind: "stateless", supported: true, example: `words |> distinct(w => w, within: 1h) |> sink stdout()` },
];

export const OPERATOR_MAP = new Map(OPERATORS.map((o) => [o.name, o]));

/** An operator's example as a complete program (docs, hover, and a test that compiles them all). */
export function operatorExample(o: OperatorInfo): string {
  return `source words: string = stdin()\n\n${o.example}\n`;
}

export const AGGREGATES = ["count", "sum", "min", "max", "avg", "reduce"] as const;

/** Window constructors usable in `window(...)`. */
export const WINDOW_KINDS = [
  { name: "tumbling", signature: "tumbling(size)", supported: true },
  { name: "sliding", signature: "sliding(size, every: slide)", supported: true },
  { name: "session", signature: "session(gap: g)", supported: true },
];

/** Config entries of `config { ... }`. */
export const CONFIG_KEYS = [
  { name: "partitions", type: "int", doc: "Parallel instances of every partitioned operator (default 1; `--partitions` overrides)." },
  { name: "checkpoint", type: "duration", doc: "Interval between checkpoints of `flowc run` (`--checkpoint-interval` overrides; off when absent): a crashed run resumes from the last one, with exactly-once file output (docs/fault-tolerance.md)." },
  { name: "keyGroups", type: "int", doc: "Number of key groups (default 128); the maximum number of partitions. Fixed for a job's life." },
  { name: "batchSize", type: "int", doc: "Records per batch between operators (default 1024, at most 8192)." },
  { name: "failOnError", type: "bool", doc: "When true, a record that fails inside an operator (an imported function threw) stops the job with an error instead of being reported and skipped (default false; `flowc run --fail-on-error` sets it)." },
] as const;
