// Twenty other pipelines, for the benchmark's "after 20 other plans were loaded into the same
// process" runs: each is compiled, loaded and run on a few thousand generated records before the
// measured plan, so that the runtime's shared code (chain collectors, exchanges, window operators,
// sinks) has seen many element types, key types, aggregates and windows, as in a process that runs
// many jobs. Only the measured plan's own generated code is then new to V8.

const TYPES = [
  "int",
  "string",
  "float",
  "{ n: int, t: timestamp }",
  "{ name: string, score: float, tags: string[] }",
];

/** The programs' text; `out` is a directory each writes its output under. */
export function otherPrograms(out: string): string[] {
  const sink = (i: number) => `sink file(${JSON.stringify(`${out}/other${i}`)}, format: "jsonl")`;
  const programs: string[] = [];
  const add = (source: string, body: string) => {
    const i = programs.length;
    programs.push(`pipeline other${i}\nsource s: ${source} = generate(count: 3000)\n\ns\n${body}\n  |> ${sink(i)}\n`);
  };
  add(TYPES[0]!, "  |> map(x => x + 1)\n  |> filter(x => x % 3 != 0)\n  |> keyBy(x => x % 7)\n  |> window(tumbling(1h))\n  |> count()");
  add(TYPES[1]!, "  |> map(w => upper(w))\n  |> keyBy(w => w)\n  |> window(tumbling(1h))\n  |> count()");
  add(TYPES[2]!, "  |> keyBy(x => floor(x) % 5)\n  |> window(sliding(1h, every: 30m))\n  |> avg(x => x)");
  add(TYPES[3]!, "  |> watermark(r => r.t, delay: 1s)\n  |> keyBy(r => r.n % 11)\n  |> window(tumbling(1m))\n  |> sum(r => r.n)");
  add(TYPES[4]!, "  |> flatMap(r => r.tags)\n  |> keyBy(t => t)\n  |> window(tumbling(1h))\n  |> count()");
  add(TYPES[4]!, "  |> keyBy(r => r.name)\n  |> window(tumbling(1h))\n  |> aggregate({ n: count(), best: max(r => r.score), mean: avg(r => r.score) })");
  add(TYPES[3]!, "  |> map(r => { k: r.n % 13, v: r.n * 2, ts: r.t })\n  |> watermark(e => e.ts, delay: 2s)\n  |> keyBy(e => e.k)\n  |> window(sliding(10m, every: 5m))\n  |> min(e => e.v)");
  add(TYPES[0]!, "  |> keyBy(x => x % 2 == 0)\n  |> window(tumbling(1h))\n  |> reduce((a, b) => a + b)");
  add(TYPES[1]!, "  |> filter(w => len(w) > 3)\n  |> map(w => { word: w, n: len(w) })\n  |> keyBy(r => r.word)\n  |> window(tumbling(1h))\n  |> max(r => r.n)");
  add(TYPES[3]!, "  |> watermark(r => r.t, delay: 0ms)\n  |> keyBy(r => r.n % 4)\n  |> window(session(gap: 10s))\n  |> count()");
  add(TYPES[2]!, "  |> map(x => x * 2.5)\n  |> filter(x => x > 10.0)");
  add(TYPES[4]!, "  |> map(r => { name: r.name, n: len(r.tags) })\n  |> keyBy(r => { name: r.name, n: r.n })\n  |> window(tumbling(1h))\n  |> count()");
  add(TYPES[0]!, "  |> keyBy(x => x % 100)\n  |> sum(x => x)");
  add(TYPES[1]!, "  |> map(w => { w: w, ts: 0 })\n  |> watermark(r => r.ts, delay: 1s)\n  |> keyBy(r => r.w)\n  |> window(tumbling(1m))\n  |> aggregate({ n: count(), first: min(r => r.ts) })");
  add(TYPES[3]!, "  |> map(r => r.n)\n  |> keyBy(n => toString(n % 9))\n  |> window(sliding(1h, every: 20m))\n  |> sum(n => n)");
  add(TYPES[4]!, "  |> filter(r => r.score > 100.0)\n  |> map(r => r.name)");
  add(TYPES[2]!, "  |> keyBy(x => round(x) % 3)\n  |> window(tumbling(1h))\n  |> reduce((a, b) => a > b ? a : b)");
  add(TYPES[0]!, "  |> flatMap(x => [x, x * 2, x * 3])\n  |> keyBy(x => x % 10)\n  |> window(tumbling(1h))\n  |> avg(x => x)");
  add(TYPES[3]!, "  |> watermark(r => r.t, delay: 5s)\n  |> map(r => { n: r.n, t: r.t })\n  |> keyBy(r => r.n % 3)\n  |> window(tumbling(30s))\n  |> max(r => r.n)");
  add(TYPES[1]!, "  |> keyBy(w => len(w))\n  |> window(session(gap: 1m))\n  |> count()");
  return programs;
}
