// Snapshot and restore of the event-time operators (tumbling/sliding and session window aggregates,
// interval join, distinct): a run cut at any point, snapshotted, and resumed in a fresh operator from
// the (JSON round-tripped) snapshot emits exactly what an uninterrupted run emits.
// A window of many keys, and sessions that close together, emit their results a batch at a time.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keyGroupRange } from "../runtime/exec/keys.js";
import type { Batch } from "../runtime/exec/messages.js";
import { Output } from "../runtime/exec/output.js";
import { DistinctOperator } from "../runtime/operators/distinct.js";
import { JoinOperator } from "../runtime/operators/join.js";
import { MinHeap } from "../runtime/operators/min-heap.js";
import type { Operator, OperatorContext, OperatorState } from "../runtime/operators/operator.js";
import { WindowAggregateOperator } from "../runtime/operators/window-aggregate.js";
import { SessionAggregateOperator } from "../runtime/operators/window-session.js";
import type { AggregateSpec } from "../runtime/plan.js";

type Step = { data: [key: string, value: unknown, time: number][]; channel?: number } | { wm: number } | { end: true };

function ctx(sink: Batch[]): OperatorContext {
  const out = new Output(128);
  out.addRoute("forward", [{ receiver: { receive: (b) => sink.push(b), control: () => {} }, channel: 0 }]);
  return { partition: 0, partitions: 1, keyGroups: 128, keyGroupRange: keyGroupRange(0, 1, 128), out, fail: () => {} };
}

function apply(op: Operator, steps: Step[]): void {
  for (const s of steps) {
    if ("data" in s) op.process({ values: s.data.map((d) => d[1]), keys: s.data.map((d) => d[0]), times: s.data.map((d) => d[2]) }, s.channel ?? 0);
    else if ("wm" in s) op.onWatermark(s.wm);
    else void op.onEnd();
  }
}

/** Emitted records with their times; order within one firing is not meaningful, so sorted. */
const rows = (out: Batch[]) =>
  out
    .flatMap((b) => b.values.map((v, i) => ({ v, t: b.times?.[i] })))
    .map((r) => JSON.stringify(r))
    .sort();

/** Uninterrupted vs. cut at every step; returns how many cuts had non-empty state. */
function checkRestore(make: (sink: Batch[]) => Operator, steps: Step[]): number {
  const whole: Batch[] = [];
  apply(make(whole), steps);
  expect(rows(whole).length).toBeGreaterThan(0);
  let withState = 0;
  for (let cut = 0; cut <= steps.length; cut++) {
    const out: Batch[] = [];
    const before = make(out);
    apply(before, steps.slice(0, cut));
    const snap = JSON.parse(JSON.stringify(before.snapshot())) as OperatorState;
    if (Object.keys(snap.keyGroups).length > 0) withState++;
    const after = make(out);
    after.restore([snap]);
    apply(after, steps.slice(cut));
    expect(rows(out), `cut after step ${cut}`).toEqual(rows(whole));
  }
  return withState;
}

const spec: AggregateSpec = {
  kind: "multi",
  fields: [
    { name: "n", aggregate: { kind: "count" } },
    { name: "total", aggregate: { kind: "sum", fn: "v" } },
    { name: "mean", aggregate: { kind: "avg", fn: "v" } },
    { name: "lo", aggregate: { kind: "min", fn: "v" } },
    { name: "hi", aggregate: { kind: "max", fn: "v" } },
    { name: "all", aggregate: { kind: "reduce", fn: "cat" } },
  ],
};
const fns = { v: (x: { v: number }) => x.v, cat: (a: { v: number }, b: { v: number }) => ({ v: a.v * 10 + b.v }) };
const rec = (v: number) => ({ v });

const steps: Step[] = [
  { data: [["a", rec(1), 1000], ["b", rec(2), 2000]] },
  { data: [["a", rec(3), 4000]] },
  { wm: 3000 },
  { data: [["a", rec(4), 9000], ["b", rec(5), 12000]] },
  { wm: 10_000 },
  { data: [["a", rec(6), 13_000]] },
  { wm: 20_000 },
  { data: [["b", rec(7), 21_000]] },
  { end: true },
];

describe("restore gives the same output", () => {
  it("tumbling window aggregate (event time)", () => {
    const n = checkRestore((out) => new WindowAggregateOperator("w", "t:1", spec, { kind: "tumbling", sizeMs: 10_000, time: "event" }, fns, ctx(out)), steps);
    expect(n).toBeGreaterThan(3);
  });

  it("sliding window aggregate (event time)", () => {
    const n = checkRestore((out) => new WindowAggregateOperator("w", "t:1", spec, { kind: "sliding", sizeMs: 10_000, slideMs: 5000, time: "event" }, fns, ctx(out)), steps);
    expect(n).toBeGreaterThan(3);
  });

  it("session window aggregate (event time), including a merge of two sessions", () => {
    const merging: Step[] = [...steps.slice(0, 2), { data: [["a", rec(8), 2500]] }, ...steps.slice(2)];
    const n = checkRestore((out) => new SessionAggregateOperator("s", "t:1", spec, { kind: "session", gapMs: 3000, time: "event" }, fns, ctx(out)), merging);
    expect(n).toBeGreaterThan(3);
    // By hand, gap 3 s: a@1 is [1,4), a@4 is [4,7) (exactly the gap apart: two sessions); a@2.5 is
    // [2.5,5.5), overlapping both: one session [1,7) of 1, 8, 3 (reduce sees them in time order).
    // a@9 is [9,12) and a@13 is [13,16).
    const out: Batch[] = [];
    apply(new SessionAggregateOperator("s", "t:1", spec, { kind: "session", gapMs: 3000, time: "event" }, fns, ctx(out)), merging);
    const a = out.flatMap((b) => b.values).filter((v) => (v as { key: string }).key === "a");
    expect(a).toEqual([
      { key: "a", n: 3, total: 12, mean: 4, lo: 1, hi: 8, all: { v: 183 }, start: 1000, end: 7000 },
      { key: "a", n: 1, total: 4, mean: 4, lo: 4, hi: 4, all: { v: 4 }, start: 9000, end: 12_000 },
      { key: "a", n: 1, total: 6, mean: 6, lo: 6, hi: 6, all: { v: 6 }, start: 13_000, end: 16_000 },
    ]);
  });

  it("interval join", () => {
    const joinSteps: Step[] = [
      { data: [["a", rec(1), 1000], ["b", rec(2), 2000]], channel: 0 },
      { data: [["a", rec(3), 4000]], channel: 1 },
      { wm: 3000 },
      { data: [["a", rec(4), 9000], ["b", rec(5), 6000]], channel: 1 },
      { data: [["a", rec(6), 8000]], channel: 0 },
      { wm: 10_000 },
      { data: [["b", rec(7), 12_000]], channel: 0 },
      { end: true },
    ];
    const n = checkRestore((out) => {
      const op = new JoinOperator("j", 5000, "event", ctx(out));
      op.bindChannels([0, 1]);
      return op;
    }, joinSteps);
    expect(n).toBeGreaterThan(3);
  });

  it("distinct", () => {
    const n = checkRestore((out) => new DistinctOperator("d", 5000, "event", ctx(out)), [
      { data: [["a", rec(1), 1000], ["a", rec(2), 2000]] },
      { data: [["a", rec(3), 7000], ["b", rec(4), 7000]] },
      { wm: 8000 },
      { data: [["a", rec(5), 9000], ["b", rec(6), 13_000]] },
      { end: true },
    ]);
    expect(n).toBeGreaterThan(2);
  });
});

describe("min-heap", () => {
  it("pops its values in the order of their numbers", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 })), (xs) => {
        const h = new MinHeap<number>();
        xs.forEach((x, i) => h.push(x, i));
        const popped: number[] = [];
        while (h.size > 0) popped.push(xs[h.pop()]!);
        expect(popped).toEqual([...xs].sort((a, b) => a - b));
      }),
    );
  });
});

describe("a window of many keys", () => {
  it("emits its results in batches of at most 1024, every key once, at the window's end - 1", () => {
    const out: Batch[] = [];
    const op = new WindowAggregateOperator("w", "t:1", spec, { kind: "tumbling", sizeMs: 10_000, time: "event" }, fns, ctx(out));
    const keys = Array.from({ length: 2500 }, (_, i) => `k${i}`);
    op.process({ values: keys.map((_, i) => ({ v: i })), keys, times: keys.map((_, i) => i) });
    op.onWatermark(10_000);
    expect(out.map((b) => b.values.length)).toEqual([1024, 1024, 452]);
    const results = out.flatMap((b) => b.values as { key: string; start: number }[]);
    expect(new Set(results.map((r) => r.key))).toEqual(new Set(keys));
    expect(out.every((b) => b.times!.length === b.values.length && b.times!.every((t) => t === 9_999))).toBe(true);
  });

  it("sessions that close together go out in batches of at most 1024, in order of their ends", () => {
    const out: Batch[] = [];
    const op = new SessionAggregateOperator("s", "t:1", spec, { kind: "session", gapMs: 3000, time: "event" }, fns, ctx(out));
    const keys = Array.from({ length: 2100 }, (_, i) => `k${i}`);
    op.process({ values: keys.map((_, i) => ({ v: i })), keys, times: keys.map((_, i) => i) });
    void op.onEnd();
    expect(out.map((b) => b.values.length)).toEqual([1024, 1024, 52]);
    const ends = out.flatMap((b) => (b.values as { end: number }[]).map((r) => r.end));
    expect(ends).toEqual(keys.map((_, i) => i + 3000));
    expect(out.flatMap((b) => b.times!)).toEqual(ends.map((e) => e - 1));
  });
});
