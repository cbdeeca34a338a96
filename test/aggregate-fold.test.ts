// The accumulator code generated per aggregate (the plan's FoldFn) against the runtime's generic
// accumulators: the same window operator run with and without it, on the same random event-time
// input (late records, watermarks, records on which an aggregate function throws), emits the same
// results and reports the same failed records. Programs cover every aggregate kind, int, string
// and record keys, tumbling and sliding windows (a size that is a multiple of the slide and one
// that is not); the generated code is the one flowc emits, imported from its .js module.
// Copy-on-write snapshots: a snapshot read a few entries at a time while records go on (windows
// closing, new keys, changed accumulators) equals one read at once at its barrier.
import fc from "fast-check";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyGroupRange } from "../runtime/exec/keys.js";
import type { Batch } from "../runtime/exec/messages.js";
import { Output } from "../runtime/exec/output.js";
import { EntryText, jsonValue, PENDING, stateText, type OperatorContext, type OperatorState } from "../runtime/operators/operator.js";
import type { KeyTable } from "../runtime/operators/key-table.js";
import { WindowAggregateOperator } from "../runtime/operators/window-aggregate.js";
import type { AggregateNode, PlanModule } from "../runtime/plan.js";
import { compileModule } from "./helpers/plan-module.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "flowc-fold-"));
  writeFileSync(join(dir, "udfs.ts"), 'export function check(v: number): number {\n  if (v % 13 === 0) throw new Error(`unlucky ${v}`);\n  return v;\n}\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Event = { k: number; s: string; v: number; ts: number };

const AGGREGATES = {
  count: "count()",
  sum: "sum(e => check(e.v))",
  min: "min(e => e.v * 1.5)",
  max: "max(e => check(e.v))",
  avg: "avg(e => check(e.v))",
  reduce: "reduce((a, b) => { k: a.k, s: b.s, v: floor(check(a.v + b.v)), ts: b.ts })",
  multi: "aggregate({ n: count(), total: sum(e => e.v), hi: max(e => check(e.v)), mean: avg(e => e.v), folded: reduce((a, b) => { k: a.k, s: a.s, v: floor(check(a.v * 2 + b.v)), ts: a.ts }) })",
};
// `wide`: numbers beyond 32 bits and fractions, which the generated code must not look up as the
// 32-bit integers they truncate to (2^32 and 0); `zero`: -0 and 0, one key as in a Map.
const KEYS = { int: "e.k", string: "e.s", record: "{ a: e.k % 3, b: e.s }", wide: "e.k * 2147483648 - (e.k % 2) * 0.5 - 2", zero: "(e.k - 2) * 0" };
const WINDOWS = { tumbling: "tumbling(10s)", sliding: "sliding(10s, every: 5s)", uneven: "sliding(10s, every: 3s)" };

let programs = 0;
async function load(aggregate: string, key: string, window: string): Promise<{ mod: PlanModule; node: AggregateNode }> {
  const name = `p${programs++}`;
  const text = `import { check } from "./udfs.ts"
pipeline ${name}
source events: { k: int, s: string, v: int, ts: timestamp } = stdin(format: "jsonl")

events
  |> watermark(e => e.ts, delay: 0ms)
  |> keyBy(e => ${key})
  |> window(${window})
  |> ${aggregate}
  |> sink stdout()
`;
  const mod = await compileModule(dir, name, text);
  const node = mod.plan.nodes.find((n): n is AggregateNode => n.kind === "aggregate")!;
  return { mod, node };
}

type Step = { batch: { k: number; s: number; v: number; dt: number }[] } | { watermark: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ batch: fc.array(fc.record({ k: fc.nat(5), s: fc.nat(3), v: fc.integer({ min: -30, max: 60 }), dt: fc.integer({ min: -4000, max: 9000 }) }), { maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ watermark: fc.nat(60_000) }) },
);

/**
 * Runs the operator over the steps; returns what it emitted (sorted within each firing) and the failures.
 * `snapshots`: before each step, whether to snapshot, and then how to read it: at once (`now`), or a
 * few entries before each later step (`later`); the texts of the snapshots are collected.
 */
function run(mod: PlanModule, node: AggregateNode, keyOf: (e: Event) => unknown, steps: Step[], withFold: boolean, snapshots?: { at: boolean[]; read: "now" | "later"; texts: string[] }) {
  const fired: string[][] = [];
  const failures: string[] = [];
  const out = new Output(128);
  out.addRoute("forward", [{ receiver: { receive: (b: Batch) => fired.push(b.values.map((v, i) => JSON.stringify([v, b.times?.[i]])).sort()), control: () => {} }, channel: 0 }]);
  const ctx: OperatorContext = {
    partition: 0,
    partitions: 1,
    keyGroups: 128,
    keyGroupRange: keyGroupRange(0, 1, 128),
    out,
    fail: (record, error, where) => failures.push(`${JSON.stringify(record)} ${(error as Error).message} ${where}`),
  };
  const op = new WindowAggregateOperator(node.id, "p.flow:9", node.aggregate, node.window as never, mod.functions, ctx, false, withFold ? node.fold : undefined);
  let time = 0;
  let pending: OperatorState | undefined;
  const taken: OperatorState[] = [];
  for (const [i, s] of steps.entries()) {
    if (snapshots?.at[i]) {
      const state = op.snapshot();
      if (snapshots.read === "now") snapshots.texts.push(JSON.stringify(state));
      else taken.push((pending = state));
    }
    if (pending?.[PENDING]?.(Infinity, 2)) pending = undefined;
    if ("watermark" in s) {
      time = Math.max(time, s.watermark);
      op.onWatermark(time);
      continue;
    }
    const events = s.batch.map((r): Event => ({ k: r.k, s: ["x", "y", "z", "w"][r.s]!, v: r.v, ts: time + r.dt }));
    op.process({ values: events, keys: events.map(keyOf), times: events.map((e) => e.ts) });
  }
  op.onEnd();
  for (const state of taken) snapshots!.texts.push(JSON.stringify(state));
  // Sorted: in sliding windows the generic code reports record by record, the fold window by window.
  return { fired, failures: failures.sort() };
}

describe("generated accumulator code", () => {
  const keyFns: Record<keyof typeof KEYS, (e: Event) => unknown> = {
    int: (e) => e.k,
    string: (e) => e.s,
    record: (e) => ({ a: e.k % 3, b: e.s }),
    wide: (e) => e.k * 2147483648 - (e.k % 2) * 0.5 - 2,
    zero: (e) => (e.k - 2) * 0,
  };
  for (const [aggName, aggregate] of Object.entries(AGGREGATES)) {
    for (const [keyName, key] of Object.entries(KEYS)) {
      for (const [windowName, window] of Object.entries(WINDOWS)) {
        // Every aggregate with every key in tumbling windows; the sliding ones with int keys.
        if (windowName !== "tumbling" && keyName !== "int") continue;
        it(`${aggName}, ${keyName} keys, ${windowName}: the same results and failures as the generic accumulators`, async () => {
          const { mod, node } = await load(aggregate, key, window);
          expect(node.fold).toBeDefined();
          const keyOf = keyFns[keyName as keyof typeof KEYS];
          let sawFailure = false;
          let sawResult = false;
          fc.assert(
            fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
              const generic = run(mod, node, keyOf, steps, false);
              const generated = run(mod, node, keyOf, steps, true);
              expect(generated).toEqual(generic);
              sawFailure ||= generic.failures.length > 0;
              sawResult ||= generic.fired.length > 0;
            }),
            { numRuns: 25, seed: 7 },
          );
          expect(sawResult).toBe(true);
          if (aggregate.includes("check(")) expect(sawFailure).toBe(true);
        });
      }
    }
  }
});

describe("copy-on-write snapshots", () => {
  for (const [aggName, aggregate] of Object.entries(AGGREGATES)) {
    for (const windowName of ["tumbling", "sliding"] as const) {
      for (const withFold of [true, false]) {
        it(`${aggName}, ${windowName}, ${withFold ? "generated" : "generic"} code: read while records go on, the same as read at the barrier`, async () => {
          const { mod, node } = await load(aggregate, KEYS.int, WINDOWS[windowName]);
          let sawChange = 0; // snapshots that hold entries
          fc.assert(
            fc.property(fc.array(step, { minLength: 1, maxLength: 25 }).chain((steps) => fc.tuple(fc.constant(steps), fc.array(fc.boolean(), { minLength: steps.length, maxLength: steps.length }))), ([steps, at]) => {
              const now = { at, read: "now" as const, texts: [] as string[] };
              const later = { at, read: "later" as const, texts: [] as string[] };
              const a = run(mod, node, (e) => e.k, steps, withFold, now);
              const b = run(mod, node, (e) => e.k, steps, withFold, later);
              expect(b).toEqual(a);
              expect(later.texts).toEqual(now.texts);
              sawChange += now.texts.filter((t) => Object.keys((JSON.parse(t) as OperatorState).keyGroups).length > 0).length;
            }),
            { numRuns: 30, seed: 11 },
          );
          expect(sawChange).toBeGreaterThan(0);
        });
      }
    }
  }

  it("a window's snapshot written in stretches is what JSON.stringify writes, and holds every entry", async () => {
    const { mod, node } = await load("sum(e => e.v)", "e.s", "tumbling(10s)");
    const out = new Output(128);
    out.addRoute("forward", [{ receiver: { receive: () => {}, control: () => {} }, channel: 0 }]);
    const ctx: OperatorContext = { partition: 0, partitions: 1, keyGroups: 128, keyGroupRange: keyGroupRange(0, 1, 128), out, fail: (r, e) => expect.unreachable(`${JSON.stringify(r)}: ${String(e)}`) };
    const op = new WindowAggregateOperator(node.id, "p.flow:9", node.aggregate, node.window as never, mod.functions, ctx, false, node.fold);
    // Enough keys that each key group's text outgrows its first buffers; keys that JSON escapes and
    // that take 2 to 4 bytes in UTF-8.
    const events: Event[] = [];
    for (let i = 0; i < 40_000; i++) events.push({ k: 0, s: `${["ключ", "é\"q\\", "😀", "k"][i % 4]}-${i % 20_000}`, v: i, ts: i % 2 === 0 ? 1_000 : 12_000 });
    op.process({ values: events, keys: events.map((e) => e.s), times: events.map((e) => e.ts) });
    const slices: number[] = [];
    const written = await stateText(op.snapshot(), (ms) => slices.push(ms));
    expect(slices.length).toBeGreaterThan(1);
    // The same entries read at once, through JSON.stringify.
    expect(written).toBe(JSON.stringify(op.snapshot()));
    const entries = Object.values((JSON.parse(written) as OperatorState).keyGroups).flat() as [number, string, number][];
    const expected = new Map<string, number>();
    for (const e of events) expected.set(`${e.ts - (e.ts % 10_000)} ${e.s}`, (expected.get(`${e.ts - (e.ts % 10_000)} ${e.s}`) ?? 0) + e.v);
    expect(new Map(entries.map(([start, key, acc]) => [`${start} ${key}`, acc]))).toEqual(expected);
    expect(entries.length).toBe(expected.size);
  });

  it("entries restored from a snapshot are of the class the plan's fold makes its entries of, and go on as they were", async () => {
    const { mod, node } = await load("sum(e => e.v)", "e.s", "tumbling(10s)");
    expect(node.entry).toBe(`${node.id}_entry`);
    const rows: unknown[] = [];
    const make = () => {
      const out = new Output(128);
      out.addRoute("forward", [{ receiver: { receive: (b: Batch) => void rows.push(...b.values), control: () => {} }, channel: 0 }]);
      const ctx: OperatorContext = { partition: 0, partitions: 1, keyGroups: 128, keyGroupRange: keyGroupRange(0, 1, 128), out, fail: (r, e) => expect.unreachable(`${JSON.stringify(r)}: ${String(e)}`) };
      return new WindowAggregateOperator(node.id, "p.flow:9", node.aggregate, node.window as never, mod.functions, ctx, false, node.fold, node.entry);
    };
    /** The classes of a window's entries (the operator's own state, read for this test only). */
    const classes = (op: WindowAggregateOperator) => {
      const windows = (op as unknown as { windows: Map<number, KeyTable> }).windows;
      const names = new Set<string>();
      for (const table of windows.values()) for (let i = 0; i < table.size; i++) names.add(table.valueAt(i).constructor.name);
      return [...names];
    };
    const events = (from: number): Event[] => Array.from({ length: 50 }, (_, i) => ({ k: 0, s: `k${i % 7}`, v: from + i, ts: 1_000 }));
    const first = make();
    first.process({ values: events(0), keys: events(0).map((e) => e.s), times: events(0).map(() => 1_000) });
    const state = JSON.parse(JSON.stringify(first.snapshot())) as OperatorState;
    const restored = make();
    restored.restore([state]);
    expect(classes(first)).toEqual([`${node.id}_Entry`]);
    expect(classes(restored)).toEqual([`${node.id}_Entry`]);
    // The fold goes on from the restored sums: the same rows as one operator that saw both batches.
    for (const op of [first, restored]) {
      op.process({ values: events(100), keys: events(100).map((e) => e.s), times: events(100).map(() => 1_000) });
      op.onEnd();
    }
    expect(rows.length).toBe(14);
    const sorted = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
    expect(sorted(rows.slice(7))).toEqual(sorted(rows.slice(0, 7)));
    expect(sorted(rows.slice(0, 7))[0]).toBe(JSON.stringify({ key: "k0", sum: [0, 7, 14, 21, 28, 35, 42, 49].reduce((a, b) => a + b + (b + 100), 0), start: 0, end: 10_000 }));
  });

  it("jsonValue writes what JSON.stringify writes for an array element", () => {
    for (const x of [0, -0, 1.5, -2e-7, 1e21, NaN, Infinity, -Infinity, undefined, null, "é\"\n😀", [1, undefined], { a: NaN }]) expect(jsonValue(x)).toBe(JSON.stringify([x]).slice(1, -1));
    fc.assert(fc.property(fc.anything(), (x) => jsonValue(x) === JSON.stringify([x]).slice(1, -1)));
  });

  it("EntryText writes an entry's bytes (addKeyed: integers digit by digit) as JSON.stringify writes the entry", () => {
    const number = fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.constantFrom(0, -0, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, -(2 ** 53) - 2, 1e21, 0.1), fc.double());
    const value = fc.oneof(number, number, fc.anything());
    const entry = fc.record({ kg: fc.nat(5), head: fc.constantFrom<unknown[]>([], [1_700_000_000_000], [null], ["é", -3]), key: value, acc: value, keyed: fc.boolean() });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 60 }), (entries) => {
        const text = new EntryText();
        const expected = new Map<number, unknown[]>();
        for (const e of entries) {
          const whole = [...e.head, e.key, e.acc];
          if (e.keyed) text.addKeyed(e.kg, Buffer.from(JSON.stringify(e.head).replace(/\]$/, e.head.length > 0 ? "," : ""), "utf8"), e.key, e.acc);
          else text.add(e.kg, JSON.stringify(whole));
          expected.set(e.kg, [...(expected.get(e.kg) ?? []), whole]);
        }
        const got = text.groups().map(([kg, parts]) => [kg, `[${Buffer.concat(parts).toString("utf8")}]`]);
        expect(got).toEqual([...expected].sort((a, b) => a[0] - b[0]).map(([kg, list]) => [kg, JSON.stringify(list)]));
      }),
      { numRuns: 300 },
    );
  });

  it("stateText writes what JSON.stringify writes, in stretches", async () => {
    const keyGroups: Record<number, unknown[]> = {};
    for (let k = 0; k < 128; k++) keyGroups[k] = Array.from({ length: 200 }, (_, i) => [k * 1000, `key ${i}`, [i, { s: "x\"y" }]]);
    const state: OperatorState = { operator: "op_1", keyGroups };
    const slices: number[] = [];
    expect(await stateText(state, (ms) => slices.push(ms))).toBe(JSON.stringify(state));
    expect(slices.length).toBeGreaterThan(0);
    expect(await stateText({ operator: "op_2", keyGroups: {} })).toBe(JSON.stringify({ operator: "op_2", keyGroups: {} }));
    // Pieces of text large enough to go out as they are (256 entries of 200-odd bytes), between small ones.
    const large: OperatorState = { operator: "op_3", keyGroups: { 3: Array.from({ length: 700 }, (_, i) => [i, "é".repeat(100 + (i % 7))]), 9: [[1, "x"]], 70: Array.from({ length: 300 }, (_, i) => ["k".repeat(250), i]) } };
    expect(await stateText(large)).toBe(JSON.stringify(large));
  });
});

describe("a record on which the aggregate's function throws", () => {
  for (const [windowName, window] of Object.entries(WINDOWS)) {
    for (const withFold of [true, false]) {
      it(`is reported once in ${windowName} windows (${withFold ? "generated" : "generic"} code), though it falls in several`, async () => {
        const { mod, node } = await load(AGGREGATES.sum, KEYS.int, window);
        // v = 26 throws (a multiple of 13); at 12 s it falls in two or more sliding windows.
        const steps: Step[] = [{ batch: [{ k: 1, s: 0, v: 26, dt: 12_000 }, { k: 1, s: 0, v: 2, dt: 12_000 }] }];
        const { failures, fired } = run(mod, node, (e) => e.k, steps, withFold);
        expect(failures).toEqual([`{"k":1,"s":"x","v":26,"ts":12000} check threw: unlucky 26 p.flow:9`]);
        expect(fired.length).toBe(windowName === "tumbling" ? 1 : windowName === "sliding" ? 2 : 4);
      });
    }
  }
});
