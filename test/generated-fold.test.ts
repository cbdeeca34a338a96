// A fused loop that makes the records of the generate source before it itself (the plan's
// ChainNode.foldInto.generated): the source hands the chain ranges of record numbers, not batches
// of records. Against the same job with fusion off: the same rows in the same order, the same
// failures, late elements and record counts per task, with batches going either way as windows
// fill. Which plans get such a loop, and when the runtime uses it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Job } from "../runtime/exec/job.js";
import { GENERATED_RANGE } from "../runtime/operators/chain.js";
import { MAX_BATCH, type ChainFn, type ChainNode, type GeneratedEventFoldFn, type GeneratedFoldFn, type PlanModule } from "../runtime/plan.js";
import { compileModule } from "./helpers/plan-module.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "flowc-generated-"));
  writeFileSync(join(dir, "udfs.ts"), 'export function check(v: number): number {\n  if (v % 13 === 0) throw new Error(`unlucky ${v}`);\n  return v;\n}\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let programs = 0;
async function load(body: string): Promise<PlanModule> {
  const name = `g${programs++}`;
  return compileModule(dir, name, `import { check } from "./udfs.ts"\npipeline ${name}\n${body}\n`);
}

function chainOf(mod: PlanModule): ChainNode {
  return mod.plan.nodes.find((n): n is ChainNode => n.kind === "chain")!;
}

/** The module with its generated loop counting its calls. */
function counting(mod: PlanModule): { mod: PlanModule; calls: () => number } {
  const name = chainOf(mod).foldInto!.generated!;
  const fn = mod.functions[name] as (...args: unknown[]) => number;
  let calls = 0;
  const wrapped = (...args: unknown[]) => (calls++, fn(...args));
  return { mod: { plan: mod.plan, functions: { ...mod.functions, [name]: wrapped as GeneratedFoldFn | GeneratedEventFoldFn } }, calls: () => calls };
}

/** Runs the job: every sink's rows in the order written (in processing time: window bounds blanked, sorted), failures, late count, task counts. */
async function run(mod: PlanModule, opts: { fuse: boolean; fuseMostEntries?: number; blankWindows?: boolean }) {
  const sinks = new Map<string, string[]>();
  const failures: string[] = [];
  const job = new Job(mod, {
    fuse: opts.fuse,
    ...(opts.fuseMostEntries === undefined ? {} : { fuseMostEntries: opts.fuseMostEntries }),
    sinkOverride: (node) => {
      // (One list per sink node, whichever instance writes.)
      const rows = sinks.get(node.id) ?? [];
      sinks.set(node.id, rows);
      const text = (r: unknown) => JSON.stringify(opts.blankWindows ? { ...(r as object), start: 0, end: 0 } : r);
      return { write: (records) => void rows.push(...records.map(text)), ready: () => undefined, close: async () => {} };
    },
    reporter: { recordFailed: (f) => failures.push(`${f.where}: ${f.message} ${JSON.stringify(f.record)}`) },
  });
  await job.open();
  const summary = await job.run();
  const counts = job.taskStats().map((t) => `${t.node}#${t.partition} in ${t.recordsIn} out ${t.recordsOut}`);
  // In processing time the rows of several partitions interleave: compared as sets.
  if (opts.blankWindows) for (const rows of sinks.values()) rows.sort();
  return { sinks: [...sinks].sort(), failures: failures.sort(), late: summary.lateRecords, recordsIn: summary.recordsIn, counts };
}

// Every kind of field a generator makes without its PRNG, an optional one among them; a filter, a
// map whose function throws now and then. 70,000 records: in processing time two ranges of 32,768
// (GENERATED_RANGE) and the rest, in event time ranges of MAX_BATCH.
const PROCESSING = `source nums: { n: int, f: float, b: bool, t: timestamp, d: duration, o?: int, inner: { m: int } } = generate(count: 70000)

nums
  |> filter(r => r.b || r.n % 3 == 0)
  |> map(r => { k: r.n % 7, v: check(r.n + (r.o ?? 1)), f: r.f + r.inner.m, late: r.t + r.d })
  |> keyBy(r => r.k)
  |> window(tumbling(1d))
  |> aggregate({ n: count(), total: sum(e => e.v), hi: max(e => e.f), last: max(e => e.late) })
  |> sink file("out/results", format: "jsonl")`;

// Timestamps out of order by up to 9 s against a 2 s delay: records fall behind the watermark (late,
// to their own stream), and the watermark node cuts ranges. A map whose function throws now and then.
const EVENT = `source raw: { n: int, t: timestamp } = generate(count: 70000)

raw
  |> map(r => { k: r.n % 5, v: check(r.n % 100 + 1), ts: r.t - 1ms * (r.n % 7) * 1500 })
  |> watermark(e => e.ts, delay: 2s)
  |> keyBy(e => e.k)
  |> window(tumbling(5s), late: tooLate)
  |> sum(e => check(e.v + 2))
  |> sink file("out/results", format: "jsonl")

tooLate |> sink file("out/late", format: "jsonl")`;

describe("a fused loop making the generate source's records itself", () => {
  it("processing time: the same results, failures and task counts as the job apart, also when batches go either way", async () => {
    const { mod, calls } = counting(await load(PROCESSING));
    expect(chainOf(mod).foldInto?.generated).toMatch(/_generated$/);
    const apart = await run(mod, { fuse: false, blankWindows: true });
    expect(calls()).toBe(0);
    const generated = await run(mod, { fuse: true, blankWindows: true });
    // 70,000 records in ranges of at most 32,768.
    expect(calls()).toBe(Math.ceil(70000 / GENERATED_RANGE));
    expect(generated).toEqual(apart);
    // The window holds 7 keys: above 3 entries the ranges become batches and run apart, batches
    // no larger than the source's others (MAX_BATCH).
    const before = calls();
    const chainFn = chainOf(mod).fn;
    const sizes: number[] = [];
    const watched: PlanModule = { plan: mod.plan, functions: { ...mod.functions, [chainFn]: ((input: unknown[], ...rest: unknown[]) => (sizes.push(input.length), (mod.functions[chainFn] as (...a: unknown[]) => void)(input, ...rest))) as ChainFn } };
    expect(await run(watched, { fuse: true, fuseMostEntries: 3, blankWindows: true })).toEqual(apart);
    expect(calls()).toBe(before + 1);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(70000 - GENERATED_RANGE);
    expect(Math.max(...sizes)).toBe(MAX_BATCH);
    expect(apart.recordsIn).toBe(70000);
    expect(apart.failures.length).toBeGreaterThan(0);
    expect(apart.sinks[0]![1]).toHaveLength(7);
  });

  it("event time: the same rows in the same order, failures, late elements and task counts as the job apart", async () => {
    const { mod, calls } = counting(await load(EVENT));
    expect(chainOf(mod).foldInto?.via).toBeDefined();
    const apart = await run(mod, { fuse: false });
    const generated = await run(mod, { fuse: true });
    expect(calls()).toBe(Math.ceil(70000 / MAX_BATCH));
    expect(generated).toEqual(apart);
    expect(await run(mod, { fuse: true, fuseMostEntries: 3 })).toEqual(apart);
    const [late, results] = apart.sinks;
    expect(late![1].length).toBeGreaterThan(0);
    expect(results![1].length).toBeGreaterThan(100);
    expect(apart.failures.length).toBeGreaterThan(0);
  });

  it("with more than one partition, or a second reader of the source, batches go as before, with the same results", async () => {
    const { mod, calls } = counting(await load(`config { partitions: 2 }\n${PROCESSING}`));
    const two = await run(mod, { fuse: true, blankWindows: true });
    expect(calls()).toBe(0);
    const one = await run((await load(PROCESSING)), { fuse: false, blankWindows: true });
    expect(two.sinks).toEqual(one.sinks);
    // (Two programs: their file names and lines differ.)
    const at = (failures: string[]) => failures.map((f) => f.replace(/^g\d+\.flow:\d+/, ""));
    expect(at(two.failures)).toEqual(at(one.failures));

    const shared = await load(`${PROCESSING}\n\nnums |> filter(r => r.n < 3) |> sink file("out/few", format: "jsonl")`);
    expect(chainOf(shared).foldInto?.generated).toBeDefined();
    const counted = counting(shared);
    const both = await run(counted.mod, { fuse: true, blankWindows: true });
    expect(counted.calls()).toBe(0);
    expect(both.sinks.map(([, rows]) => rows.length).sort((a, b) => a - b)).toEqual([3, 7]);
  });
});

describe("which plans get one", () => {
  it("only a chain reading a generate source whose records draw nothing from its PRNG", async () => {
    expect(chainOf(await load(PROCESSING)).foldInto?.generated).toBeDefined();
    expect(chainOf(await load(EVENT)).foldInto?.generated).toBeDefined();
    // Strings (and arrays) are drawn from the PRNG.
    const strings = await load(`source words: string = generate(count: 100)\n\nwords |> keyBy(w => w) |> window(tumbling(1d)) |> count() |> sink stdout()`);
    expect(chainOf(strings).foldInto?.fn).toBeDefined();
    expect(chainOf(strings).foldInto?.generated).toBeUndefined();
    const stdin = await load(`source nums: int = stdin(format: "jsonl")\n\nnums |> keyBy(x => x % 3) |> window(tumbling(1d)) |> count() |> sink stdout()`);
    expect(chainOf(stdin).foldInto?.generated).toBeUndefined();
  });
});

describe("what a job touches", () => {
  it("reads process.stdin and process.stdout only when a connector uses them (both are streams made on first use)", async () => {
    const touched: string[] = [];
    const saved = { stdin: Object.getOwnPropertyDescriptor(process, "stdin")!, stdout: Object.getOwnPropertyDescriptor(process, "stdout")! };
    const mod = await load(`source s: int = generate(count: 1000)\n\ns\n  |> keyBy(x => x % 3)\n  |> window(tumbling(1d))\n  |> count()\n  |> sink file(${JSON.stringify(join(dir, "touch-out"))}, format: "jsonl")`);
    const spy = await load(`source s: string = stdin(format: "lines")\n\ns\n  |> sink stdout()`);
    try {
      for (const name of ["stdin", "stdout"] as const) {
        Object.defineProperty(process, name, {
          configurable: true,
          get() {
            touched.push(name);
            return saved[name].get!.call(process);
          },
        });
      }
      const job = new Job(mod, {});
      await job.open();
      await job.run();
      expect(touched).toEqual([]);
      // A job that does read stdin and write stdout gets the process's (here, the ones it is given instead).
      const { PassThrough } = await import("node:stream");
      const input = new PassThrough();
      const output = new PassThrough();
      const got: string[] = [];
      output.on("data", (c: Buffer) => got.push(c.toString()));
      input.end("a\nb\n");
      const io = new Job(spy, { stdin: input, stdout: output });
      await io.open();
      await io.run();
      expect(got.join("")).toBe(`"a"\n"b"\n`);
      expect(touched).toEqual([]);
    } finally {
      Object.defineProperty(process, "stdin", saved.stdin);
      Object.defineProperty(process, "stdout", saved.stdout);
    }
  });
});
