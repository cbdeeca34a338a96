// A chain and the tumbling window aggregate it feeds, run as one generated loop (the plan's
// FusedFoldFn, ChainNode.foldInto) when they share a partition, against the two run apart: the same
// results, the same failed records (in the chain and in the aggregate's functions), the same record
// counts per task, and the same copy-on-write snapshots. In event time the loop also does the work
// of the watermark node between them (cutting at out-of-order records, late elements counted or sent
// to their stream): the same rows in the same order. Which plans get a fused function, and when the
// runtime uses it.
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Job } from "../runtime/exec/job.js";
import { keyGroupRange } from "../runtime/exec/keys.js";
import type { Batch } from "../runtime/exec/messages.js";
import { Output } from "../runtime/exec/output.js";
import { PENDING, type OperatorContext, type OperatorState } from "../runtime/operators/operator.js";
import { WindowAggregateOperator } from "../runtime/operators/window-aggregate.js";
import type { AggregateNode, ChainFn, ChainNode, Collector, FusedFoldFn, PlanModule } from "../runtime/plan.js";
import type { SinkWriter } from "../runtime/connectors/api.js";
import { compileModule } from "./helpers/plan-module.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "flowc-fused-"));
  writeFileSync(join(dir, "udfs.ts"), 'export function check(v: number): number {\n  if (v % 13 === 0) throw new Error(`unlucky ${v}`);\n  return v;\n}\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Row = { k: number; s: string; v: number };

let programs = 0;
async function load(body: string, config = ""): Promise<PlanModule> {
  const name = `p${programs++}`;
  const text = `import { check } from "./udfs.ts"
pipeline ${name}
${config}
source rows: { k: int, s: string, v: int } = stdin(format: "jsonl")

${body}
`;
  return compileModule(dir, name, text);
}

const pipeline = (chain: string, key: string, aggregate: string, window = "tumbling(1d)") => `rows
  ${chain}
  |> keyBy(r => ${key})
  |> window(${window})
  |> ${aggregate}
  |> sink stdout()`;

// A flatMap (two records per input, the second failing now and then), a filter, and a map whose
// function throws on some records: failures in the chain, after some of a record's outputs went on.
const CHAIN = `|> flatMap(r => [r, { k: r.k + 1, s: r.s, v: check(r.v + 1) }])
  |> filter(r => r.v % 4 != 1)
  |> map(r => { k: r.k, s: r.s, v: check(r.v * 2 + 1) * 1 - 1 })`;

const AGGREGATES = {
  count: "count()",
  sum: "sum(e => check(e.v + 3))",
  max: "max(e => e.v)",
  multi: "aggregate({ n: count(), total: sum(e => e.v), hi: max(e => check(e.v + 5)), mean: avg(e => e.v), folded: reduce((a, b) => { k: a.k, s: a.s, v: check(a.v * 2 + b.v) }) })",
};
const KEYS = { int: "r.k % 7", string: "r.s", record: "{ a: r.k % 3, b: r.s }" };

const rows = fc.array(fc.record({ k: fc.nat(20), s: fc.constantFrom("x", "y", "z"), v: fc.integer({ min: -50, max: 100 }) }), { maxLength: 300 });

function fusedName(mod: PlanModule): string {
  const chain = mod.plan.nodes.find((n): n is ChainNode => n.kind === "chain");
  expect(chain?.foldInto).toBeDefined();
  return chain!.foldInto!.fn;
}

/** The module with its fused function counting its calls. */
function counting(mod: PlanModule): { mod: PlanModule; calls: () => number } {
  const name = fusedName(mod);
  const fused = mod.functions[name] as FusedFoldFn;
  let calls = 0;
  const wrapped: FusedFoldFn = (...args) => (calls++, fused(...args));
  return { mod: { plan: mod.plan, functions: { ...mod.functions, [name]: wrapped } }, calls: () => calls };
}

/** Runs the job over `input` in batches of `batchSize`: what the sink got, the failures, the records in and out of each task. */
async function runJob(mod: PlanModule, input: Row[], fuse: boolean, partitions = 1, fuseMostEntries?: number) {
  const out: string[] = [];
  const failures: string[] = [];
  const sink: SinkWriter = {
    write: (records) => void out.push(...records.map((r) => JSON.stringify({ ...(r as object), start: 0, end: 0 }))),
    ready: () => undefined,
    close: async () => {},
  };
  const job = new Job(mod, {
    partitions,
    fuse,
    ...(fuseMostEntries === undefined ? {} : { fuseMostEntries }),
    sourceOverrides: { rows: input },
    sinkOverride: () => sink,
    reporter: { recordFailed: (f) => failures.push(`${f.where}: ${f.message} ${JSON.stringify(f.record)}`) },
  });
  await job.open();
  await job.run();
  const counts = job.taskStats().map((t) => `${t.node}#${t.partition} in ${t.recordsIn} out ${t.recordsOut}`);
  return { out: out.sort(), failures: failures.sort(), counts };
}

describe("a chain and its aggregate in one loop", () => {
  for (const [aggName, aggregate] of Object.entries(AGGREGATES)) {
    for (const [keyName, key] of Object.entries(KEYS)) {
      it(`${aggName}, ${keyName} keys: the same results, failures and task counts as the two apart`, async () => {
        const { mod, calls } = counting(await load(pipeline(CHAIN, key, aggregate)));
        let sawFailure = false;
        await fc.assert(
          fc.asyncProperty(rows, async (input) => {
            const apart = await runJob(mod, input, false);
            const before = calls();
            const fused = await runJob(mod, input, true);
            expect(fused).toEqual(apart);
            // Batches going one way or the other as the window fills (above 3 entries: apart).
            expect(await runJob(mod, input, true, 1, 3)).toEqual(apart);
            // The fused function ran (once per batch) with fusion on, and not with it off.
            if (input.length > 0) expect(calls()).toBeGreaterThan(before);
            sawFailure ||= apart.failures.length > 0;
          }),
          { numRuns: 25 },
        );
        expect(calls()).toBeGreaterThan(0);
        expect(sawFailure).toBe(true);
      });
    }
  }

  it("runs apart with more than one partition, with the same results", async () => {
    const { mod, calls } = counting(await load(pipeline(CHAIN, KEYS.string, AGGREGATES.multi)));
    const input: Row[] = Array.from({ length: 500 }, (_, i) => ({ k: i % 17, s: "xyz"[i % 3]!, v: (i * 7) % 90 }));
    const one = await runJob(mod, input, true, 1);
    expect(calls()).toBeGreaterThan(0);
    const before = calls();
    const two = await runJob(mod, input, true, 2);
    expect(calls()).toBe(before);
    expect(two.out).toEqual(one.out);
    expect(two.failures).toEqual(one.failures);
  });
});

describe("in event time: a chain, the watermark node after it and the aggregate in one loop", () => {
  // Timestamps out of order by up to 15 s (so the watermark node cuts batches, and records fall
  // behind the watermark: late), a timestamp function that throws now and then, batches of 7.
  const program = (aggregate: string, late: boolean) => `rows
  |> filter(r => r.v % 11 != 3)
  |> map(r => { k: r.k, s: r.s, v: r.v, ts: floor(check(r.s == "x" ? r.k * 1000 + r.v * 100 : r.v * 300)) })
  |> watermark(r => r.ts, delay: 2s)
  |> keyBy(r => r.k % 5)
  |> window(tumbling(5s)${late ? ", late: tooLate" : ""})
  |> ${aggregate}
  |> sink file("out/results", format: "jsonl")
${late ? 'tooLate |> sink file("out/late", format: "jsonl")' : ""}`;

  /** Runs the job; every sink's rows in the order they were written, the failures, late count, task counts. */
  async function runEvent(mod: PlanModule, input: Row[], fuse: boolean, fuseMostEntries?: number) {
    const sinks = new Map<string, string[]>();
    const failures: string[] = [];
    const job = new Job(mod, {
      fuse,
      ...(fuseMostEntries === undefined ? {} : { fuseMostEntries }),
      sourceOverrides: { rows: input },
      sinkOverride: (node) => {
        const rows: string[] = [];
        sinks.set(node.id, rows);
        return { write: (records) => void rows.push(...records.map((r) => JSON.stringify(r))), ready: () => undefined, close: async () => {} };
      },
      reporter: { recordFailed: (f) => failures.push(`${f.where}: ${f.message} ${JSON.stringify(f.record)}`) },
    });
    await job.open();
    const summary = await job.run();
    const counts = job.taskStats().map((t) => `${t.node}#${t.partition} in ${t.recordsIn} out ${t.recordsOut}`);
    return { sinks: [...sinks].sort(), failures: failures.sort(), late: summary.lateRecords, counts };
  }

  const EVENT_AGGREGATES = {
    sum: AGGREGATES.sum,
    multi: "aggregate({ n: count(), total: sum(e => e.v), hi: max(e => check(e.v + 5)), mean: avg(e => e.v), folded: reduce((a, b) => { k: a.k, s: a.s, v: floor(check(a.v * 2 + b.v)), ts: b.ts }) })",
  };
  for (const [aggName, aggregate] of Object.entries(EVENT_AGGREGATES)) {
    for (const late of [false, true]) {
      it(`${aggName}${late ? ", late elements to a stream" : ""}: the same results in the same order, failures, late elements and task counts as the three apart`, async () => {
        const { mod, calls } = counting(await load(program(aggregate, late), "config { batchSize: 7 }"));
        expect(mod.plan.nodes.find((n): n is ChainNode => n.kind === "chain")?.foldInto?.via).toBeDefined();
        let sawLate = false;
        let sawFailure = false;
        await fc.assert(
          fc.asyncProperty(rows, async (input) => {
            const apart = await runEvent(mod, input, false);
            const before = calls();
            const fused = await runEvent(mod, input, true);
            expect(fused).toEqual(apart);
            expect(await runEvent(mod, input, true, 3)).toEqual(apart);
            if (input.length > 0) expect(calls()).toBeGreaterThan(before);
            // (Late elements are the chain's records, without a window's start.)
            sawLate ||= apart.late > 0 || apart.sinks.some(([, rows]) => rows.some((r) => !r.includes('"start"')));
            sawFailure ||= apart.failures.length > 0;
          }),
          { numRuns: 40 },
        );
        expect(sawLate).toBe(true);
        expect(sawFailure).toBe(true);
      });
    }
  }
});

describe("which plans get a fused function", () => {
  const foldInto = async (body: string) => (await load(body)).plan.nodes.find((n): n is ChainNode => n.kind === "chain")?.foldInto;

  it("a chain ending in the keyBy of a processing-time tumbling window", async () => {
    const into = await foldInto(pipeline("|> map(r => { k: r.k, s: r.s, v: r.v + 1 })", "r.k", "count()"));
    expect(into?.fn).toMatch(/_fused$/);
  });

  it("a chain with a watermark step, through the watermark node after it, into an event-time tumbling window", async () => {
    const into = await foldInto(`rows
  |> map(r => { k: r.k, s: r.s, v: r.v, ts: r.v * 1000 })
  |> watermark(r => r.ts, delay: 0ms)
  |> keyBy(r => r.k)
  |> window(tumbling(10s))
  |> count()
  |> sink stdout()`);
    expect(into?.fn).toMatch(/_fused$/);
    expect(into?.via).toMatch(/^watermark_/);
  });

  it("not for sliding windows, a watermark with its own node, or a chain another operator reads too", async () => {
    expect(await foldInto(pipeline("|> map(r => { k: r.k, s: r.s, v: r.v + 1 })", "r.k", "count()", "sliding(1h, every: 10m)"))).toBeUndefined();
    expect(
      await foldInto(`rows
  |> watermark(r => r.v * 1000, delay: 0ms)
  |> keyBy(r => r.k)
  |> window(tumbling(10s))
  |> count()
  |> sink stdout()`),
    ).toBeUndefined();
    expect(
      await foldInto(`stream keyed = rows
  |> map(r => { k: r.k, s: r.s, v: r.v + 1 })
  |> keyBy(r => r.k)

keyed |> window(tumbling(1d)) |> count() |> sink stdout()
keyed |> window(tumbling(1h)) |> sum(r => r.v) |> sink stdout()`),
    ).toBeUndefined();
  });
});

describe("snapshots of a fused aggregate", () => {
  type Step = { batch: Row[] } | { snapshot: "now" | "later" };
  const steps = fc.array(
    fc.oneof({ weight: 4, arbitrary: rows.map((batch) => ({ batch }) as Step) }, { weight: 1, arbitrary: fc.constantFrom<Step>({ snapshot: "now" }, { snapshot: "later" }) }),
    { maxLength: 12 },
  );

  /** The aggregate fed through the chain and its fold, or through the fused function: the texts of its snapshots and what it emitted. */
  function drive(mod: PlanModule, input: Step[], fused: boolean) {
    const agg = mod.plan.nodes.find((n): n is AggregateNode => n.kind === "aggregate")!;
    const chain = mod.plan.nodes.find((n): n is ChainNode => n.kind === "chain")!;
    const emitted: string[] = [];
    const failures: string[] = [];
    const out = new Output(128);
    out.addRoute("forward", [{ receiver: { receive: (b: Batch) => emitted.push(...b.values.map((v) => JSON.stringify({ ...(v as object), start: 0, end: 0 }))), control: () => {} }, channel: 0 }]);
    const ctx: OperatorContext = {
      partition: 0,
      partitions: 1,
      keyGroups: 128,
      keyGroupRange: keyGroupRange(0, 1, 128),
      out,
      fail: (record, error, where) => failures.push(`${where} ${(error as Error).message} ${JSON.stringify(record)}`),
    };
    const op = new WindowAggregateOperator(agg.id, "p.flow:9", agg.aggregate, agg.window as never, mod.functions, ctx, false, agg.fold);
    expect(op.fusable).toBe(true);
    const collector: Collector<unknown> = {
      done: (values, keys, _times, n) => op.process({ values: values.slice(0, n), keys: keys!.slice(0, n) }),
      fail: (record, error, where) => ctx.fail(record, error, where),
    };
    const texts: string[] = [];
    const reading: OperatorState[] = [];
    for (const s of input) {
      // A snapshot read later is read a few entries at a time, between the batches after it.
      for (const r of reading) r[PENDING]?.(Infinity, 3);
      if ("snapshot" in s) {
        const state = op.snapshot();
        if (s.snapshot === "now") texts.push(JSON.stringify(state));
        else reading.push(state);
        continue;
      }
      if (fused) op.foldFused((entries, foldCtx) => (mod.functions[chain.foldInto!.fn] as FusedFoldFn)(s.batch, entries, foldCtx, collector));
      else (mod.functions[chain.fn] as ChainFn)(s.batch, null, collector);
    }
    op.onEnd();
    for (const r of reading) texts.push(JSON.stringify(r));
    return { texts, emitted: emitted.sort(), failures: failures.sort() };
  }

  it("equal the ones taken with the chain and the fold apart (copy on write while records go on)", async () => {
    const mod = await load(pipeline(CHAIN, KEYS.record, AGGREGATES.multi));
    fc.assert(
      fc.property(steps, (input) => {
        expect(drive(mod, input, true)).toEqual(drive(mod, input, false));
      }),
      { numRuns: 60 },
    );
  });
});
