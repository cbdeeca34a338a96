// The runtime's core protocols as scripted event sequences: the input gate (watermarks, barrier
// alignment, end of stream), keys and key groups, and snapshot/restore of keyed aggregates,
// including a restore into a different number of partitions.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InputGate } from "../runtime/exec/input-gate.js";
import { keyGroupOf, keyGroupRange, keyId, partitionOfKeyGroup } from "../runtime/exec/keys.js";
import type { Batch } from "../runtime/exec/messages.js";
import { Output } from "../runtime/exec/output.js";
import { AggregateOperator } from "../runtime/operators/aggregate.js";
import { ChainOperator } from "../runtime/operators/chain.js";
import { WindowAggregateOperator } from "../runtime/operators/window-aggregate.js";
import type { OperatorContext, OperatorState } from "../runtime/operators/operator.js";
import type { AggregateSpec, ChainFn } from "../runtime/plan.js";

type Event = string;

function gate(channels: number) {
  const log: Event[] = [];
  const g = new InputGate(channels, {
    onData: (b, c) => log.push(`data ${b.values.join(",")} @${c}`),
    onWatermark: (t) => log.push(`wm ${t}`),
    onBarrier: (id) => log.push(`barrier ${id}`),
    onEnd: () => log.push("end"),
  });
  const data = (c: number, ...v: unknown[]) => g.data({ values: v, keys: null }, c);
  return { g, log, data };
}

describe("input gate", () => {
  it("aligns a barrier: data behind it on an arrived channel waits until every channel has it", () => {
    const { g, log, data } = gate(2);
    data(0, "a");
    g.control({ kind: "barrier", id: 1 }, 0);
    data(0, "b"); // after barrier 1 on channel 0: held back
    data(1, "c"); // channel 1 has not reached the barrier: passes
    expect(log).toEqual(["data a @0", "data c @1"]);
    g.control({ kind: "barrier", id: 1 }, 1);
    expect(log).toEqual(["data a @0", "data c @1", "barrier 1", "data b @0"]);
  });

  it("replays a held barrier of the next checkpoint and aligns it again", () => {
    const { g, log, data } = gate(2);
    g.control({ kind: "barrier", id: 1 }, 0);
    data(0, "x");
    g.control({ kind: "barrier", id: 2 }, 0);
    data(0, "y");
    g.control({ kind: "barrier", id: 1 }, 1);
    expect(log).toEqual(["barrier 1", "data x @0"]);
    data(1, "z");
    g.control({ kind: "barrier", id: 2 }, 1);
    expect(log).toEqual(["barrier 1", "data x @0", "data z @1", "barrier 2", "data y @0"]);
  });

  it("a newer barrier abandons an incomplete alignment (its held-back data goes on); a late older barrier is dropped", () => {
    const { g, log, data } = gate(2);
    g.control({ kind: "barrier", id: 1 }, 0);
    data(0, "x"); // held back behind barrier 1
    g.control({ kind: "barrier", id: 2 }, 1); // channel 1 never had barrier 1: checkpoint 1 was given up
    expect(log).toEqual(["data x @0"]);
    data(1, "y"); // behind barrier 2 on channel 1: held back
    g.control({ kind: "barrier", id: 1 }, 1); // queued behind barrier 2, dropped when replayed
    g.control({ kind: "barrier", id: 2 }, 0);
    expect(log).toEqual(["data x @0", "barrier 2", "data y @1"]);
    g.control({ kind: "barrier", id: 1 }, 0); // late: older than the last that passed
    data(0, "z");
    expect(log).toEqual(["data x @0", "barrier 2", "data y @1", "data z @0"]);
  });

  it("an ended channel completes an alignment and no longer holds the watermark back", () => {
    const { g, log } = gate(2);
    g.control({ kind: "watermark", time: 10 }, 0);
    g.control({ kind: "watermark", time: 5 }, 1);
    expect(log).toEqual(["wm 5"]);
    g.control({ kind: "barrier", id: 7 }, 0);
    g.control({ kind: "end" }, 1);
    expect(log).toEqual(["wm 5", "barrier 7", "wm 10"]);
    g.control({ kind: "end" }, 0);
    expect(log.at(-1)).toBe("end");
  });

  it("emits the minimum watermark over channels, never going back", () => {
    const { g, log } = gate(3);
    g.control({ kind: "watermark", time: 3 }, 0);
    g.control({ kind: "watermark", time: 4 }, 1);
    g.control({ kind: "watermark", time: 1 }, 2);
    g.control({ kind: "watermark", time: 9 }, 2);
    g.control({ kind: "watermark", time: 2 }, 0); // goes back on channel 0: ignored
    expect(log).toEqual(["wm 1", "wm 3"]);
  });

  it("seeded random schedules: every data message is delivered once, in channel order, and barriers separate checkpoints", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(fc.nat(), { minLength: 1, maxLength: 200 }), (channels, picks) => {
        // Each channel carries: d0 d1 B1 d2 d3 B2 d4 ... END, interleaved by `picks`.
        const scripts = Array.from({ length: channels }, (_, c) => {
          const s: ({ d: string } | { b: number } | { end: true })[] = [];
          for (let i = 0; i < 6; i++) {
            s.push({ d: `${c}.${i}` });
            if (i % 2 === 1) s.push({ b: (i + 1) / 2 });
          }
          s.push({ end: true });
          return s;
        });
        const pos = new Array(channels).fill(0);
        const delivered: string[] = [];
        let checkpoint = 0;
        const checkpointOf = new Map<string, number>();
        const g = new InputGate(channels, {
          onData: (b) => {
            for (const v of b.values as string[]) {
              delivered.push(v);
              checkpointOf.set(v, checkpoint);
            }
          },
          onWatermark: () => {},
          onBarrier: (id) => {
            expect(id).toBe(checkpoint + 1);
            checkpoint = id;
          },
          onEnd: () => delivered.push("END"),
        });
        let p = 0;
        while (pos.some((x, c) => x < scripts[c]!.length)) {
          const open = pos.map((x, c) => (x < scripts[c]!.length ? c : -1)).filter((c) => c >= 0);
          const c = open[picks[p++ % picks.length]! % open.length]!;
          const m = scripts[c]![pos[c]++]!;
          if ("d" in m) g.data({ values: [m.d], keys: null }, c);
          else if ("b" in m) g.control({ kind: "barrier", id: m.b }, c);
          else g.control({ kind: "end" }, c);
        }
        expect(delivered.at(-1)).toBe("END");
        expect(delivered.length).toBe(channels * 6 + 1);
        for (let c = 0; c < channels; c++) {
          const mine = delivered.filter((v) => v.startsWith(`${c}.`));
          expect(mine).toEqual(Array.from({ length: 6 }, (_, i) => `${c}.${i}`));
          // d0,d1 belong to checkpoint 1 (before barrier 1), d2,d3 to checkpoint 2, ...
          mine.forEach((v, i) => expect(checkpointOf.get(v)).toBe(Math.floor(i / 2)));
        }
      }),
      { numRuns: 200, seed: 42 },
    );
  });
});

describe("keys and key groups", () => {
  it("every key group belongs to exactly the partition whose range holds it", () => {
    for (const [groups, parts] of [[128, 1], [128, 3], [128, 4], [7, 5], [128, 128]] as const) {
      let covered = 0;
      for (let p = 0; p < parts; p++) {
        const [a, b] = keyGroupRange(p, parts, groups);
        for (let g = a; g < b; g++) expect(partitionOfKeyGroup(g, groups, parts)).toBe(p);
        covered += b - a;
      }
      expect(covered).toBe(groups);
    }
  });

  it("hashes are stable and records compare by value", () => {
    expect(keyGroupOf(keyId("hello"), 128)).toBe(keyGroupOf(keyId("hello"), 128));
    expect(keyId({ b: 1, a: "x" })).toBe(keyId({ a: "x", b: 1 }));
    const groups = new Set(Array.from({ length: 1000 }, (_, i) => keyGroupOf(keyId(i), 128)));
    expect(groups.size).toBeGreaterThan(100);
  });

  it("a hash route sends each record, with its key and time, to the partition owning its key group, in order", () => {
    const key = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.string({ maxLength: 3 }), fc.double(), fc.record({ a: fc.nat(5) }));
    fc.assert(
      fc.property(fc.array(key, { maxLength: 200 }), fc.boolean(), fc.integer({ min: 2, max: 5 }), (keys, timed, n) => {
        const got: Batch[][] = Array.from({ length: n }, () => []);
        const out = new Output(128);
        out.addRoute("hash", got.map((list) => ({ receiver: { receive: (b: Batch) => void list.push(b), control: () => {} }, channel: 0 })));
        const values = keys.map((_, i) => ({ i }));
        out.emit(timed ? { values, keys, times: keys.map((_, i) => 1000 + i) } : { values, keys });
        for (let p = 0; p < n; p++) {
          const want = values.filter((_, i) => partitionOfKeyGroup(keyGroupOf(keyId(keys[i]), 128), 128, n) === p);
          const batches = got[p]!;
          expect(batches.flatMap((b) => b.values)).toEqual(want);
          expect(batches.flatMap((b) => b.keys!)).toEqual(want.map((v) => keys[v.i]));
          if (timed) expect(batches.flatMap((b) => b.times!)).toEqual(want.map((v) => 1000 + v.i));
          else expect(batches.every((b) => b.times === undefined)).toBe(true);
        }
      }),
    );
  });
});

function ctxFor(partition: number, partitions: number, sink: Batch[]): OperatorContext {
  const out = new Output(128);
  out.addRoute("forward", [{ receiver: { receive: (b) => sink.push(b), control: () => {} }, channel: 0 }]);
  return { partition, partitions, keyGroups: 128, keyGroupRange: keyGroupRange(partition, partitions, 128), out, fail: () => {} };
}

const keyed = (words: string[]): Batch => ({ values: words, keys: words });

describe("keyed aggregate state", () => {
  const spec: AggregateSpec = { kind: "multi", fields: [{ name: "n", aggregate: { kind: "count" } }, { name: "len", aggregate: { kind: "sum", fn: "len" } }] };
  const fns = { len: (w: string) => w.length };

  it("emits the updated value per input when not windowed", () => {
    const out: Batch[] = [];
    const op = new AggregateOperator("agg", "t.flow:1", spec, fns, ctxFor(0, 1, out));
    op.process(keyed(["a", "bb", "a"]));
    expect(out[0]!.values).toEqual([
      { key: "a", n: 1, len: 1 },
      { key: "bb", n: 1, len: 2 },
      { key: "a", n: 2, len: 2 },
    ]);
  });

  it("restores a snapshot into 3 partitions: each takes its key groups, and counting goes on from there", () => {
    const words = Array.from({ length: 300 }, (_, i) => `w${i % 37}`);
    const before: Batch[] = [];
    const one = new AggregateOperator("agg", "t.flow:1", spec, fns, ctxFor(0, 1, before));
    one.process(keyed(words));
    const snap: OperatorState = JSON.parse(JSON.stringify(one.snapshot()));

    const outs: Batch[][] = [[], [], []];
    const three = [0, 1, 2].map((p) => new AggregateOperator("agg", "t.flow:1", spec, fns, ctxFor(p, 3, outs[p]!)));
    for (const op of three) op.restore([snap]);
    // The same word once more, routed to its owner: its count continues from the snapshot.
    const next = new Map<string, unknown>();
    for (const w of new Set(words)) {
      const p = partitionOfKeyGroup(keyGroupOf(keyId(w), 128), 128, 3);
      three[p]!.process(keyed([w]));
      next.set(w, outs[p]!.at(-1)!.values[0]);
    }
    for (const w of new Set(words)) {
      const n = words.filter((x) => x === w).length;
      expect(next.get(w)).toEqual({ key: w, n: n + 1, len: w.length * (n + 1) });
    }
    // A restore ignores other operators' state.
    const other = new AggregateOperator("other", "t.flow:1", spec, fns, ctxFor(0, 1, []));
    other.restore([snap]);
    expect(other.snapshot().keyGroups).toEqual({});
  });

  it("windows close at their end in processing time and all at end of input", () => {
    const out: Batch[] = [];
    const op = new WindowAggregateOperator("agg", "t.flow:1", { kind: "count" }, { kind: "tumbling", sizeMs: 60_000, time: "processing" }, {}, ctxFor(0, 1, out));
    op.process(keyed(["a", "b", "a"]));
    op.onProcessingTime(Date.now() - 120_000);
    expect(out).toEqual([]);
    op.onEnd();
    const rows = out.flatMap((b) => b.values) as { key: string; count: number; start: number; end: number }[];
    expect(rows.map((r) => [r.key, r.count])).toEqual([["a", 2], ["b", 1]]);
    expect(rows[0]!.end - rows[0]!.start).toBe(60_000);
    expect(rows[0]!.start % 60_000).toBe(0);
  });
});

describe("chain operator", () => {
  /** A chain as the compiler writes one: split into words, keyBy the word; outputs keep their input's time. */
  const words: ChainFn<string, string> = (input, times, o) => {
    const values: string[] = new Array(input.length);
    const keys: unknown[] = new Array(input.length);
    const outTimes = times === null ? null : new Array<number>(input.length);
    let n = 0;
    for (let i = 0; i < input.length; i++) {
      for (const w of input[i]!.split(" ")) {
        if (!w) continue;
        keys[n] = w;
        values[n] = w;
        if (outTimes !== null) outTimes[n] = times![i]!;
        n++;
      }
    }
    o.done(values, keys, outTimes, n);
  };

  it("runs the generated function and emits keyed output as one batch, trimmed to what it made", () => {
    const out: Batch[] = [];
    const op = new ChainOperator(words, ctxFor(0, 1, out));
    op.process({ values: ["a", "", "c"], keys: null });
    op.process({ values: [""], keys: null });
    expect(out).toEqual([{ values: ["a", "c"], keys: ["a", "c"] }]);
    expect(out[0]!.values.length).toBe(2);
  });

  it("with event time, each output keeps the time of the input it came from (flatMap and filter included)", () => {
    const out: Batch[] = [];
    const op = new ChainOperator(words, ctxFor(0, 1, out));
    op.process({ values: ["a b", "", "c", "d e f"], keys: null, times: [10, 20, 30, 40] });
    op.process({ values: ["g"], keys: null, times: [50] });
    expect(out).toEqual([
      { values: ["a", "b", "c", "d", "e", "f"], keys: ["a", "b", "c", "d", "e", "f"], times: [10, 10, 30, 40, 40, 40] },
      { values: ["g"], keys: ["g"], times: [50] },
    ]);
  });
});
