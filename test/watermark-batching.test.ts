// The watermark operator sends a batch whole with one watermark after it, cutting it only before a
// record older than the watermark the records before it made. Which records are late, and so every
// window, session and join result, must be the same as with a watermark after every record (the
// same as however the input was cut into batches).
import fc from "fast-check";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Batch, ControlEvent } from "../runtime/exec/messages.js";
import type { Output } from "../runtime/exec/output.js";
import type { OperatorContext } from "../runtime/operators/operator.js";
import { WatermarkOperator } from "../runtime/operators/watermark.js";
import { flowcAsync } from "./helpers/cli.js";
import { multiset, multisetDiff, published } from "./helpers/outputs.js";

type Event = { data: number[] } | ControlEvent;

/** Runs the operator over `batches` of timestamps; returns what it sent, in order. */
function run(batches: number[][], delayMs: number): Event[] {
  const events: Event[] = [];
  const out = { emit: (b: Batch) => events.push({ data: b.values as number[] }), control: (e: ControlEvent) => events.push(e) } as unknown as Output;
  const ctx = { partition: 0, partitions: 1, keyGroups: 128, keyGroupRange: [0, 128], out, fail: () => {} } satisfies OperatorContext;
  const op = new WatermarkOperator("t.flow:1", (v) => v as number, delayMs, 60_000, ctx);
  for (const b of batches) op.process({ values: b, keys: null });
  return events;
}

/** What a downstream operator on one channel sees: each record's time with the watermark at its arrival. */
function arrivals(events: Event[]): { t: number; watermark: number; late: boolean }[] {
  let wm = -Infinity;
  const seen: { t: number; watermark: number; late: boolean }[] = [];
  for (const e of events) {
    if ("data" in e) for (const t of e.data) seen.push({ t, watermark: wm, late: t < wm });
    else if (e.kind === "watermark") wm = e.time;
  }
  return seen;
}

describe("watermark: one watermark per batch, the same late records", () => {
  it("an in-order batch goes out whole, with one watermark after it", () => {
    expect(run([[1000, 2000, 3000, 4000]], 500)).toEqual([{ data: [1000, 2000, 3000, 4000] }, { kind: "watermark", time: 3500 }]);
  });

  it("a record older than the watermark the records before it made is cut off, after that watermark", () => {
    expect(run([[5000, 1000, 6000]], 0)).toEqual([{ data: [5000] }, { kind: "watermark", time: 5000 }, { data: [1000, 6000] }, { kind: "watermark", time: 6000 }]);
  });

  it("for any times and any batch cuts: the late records, and which records each watermark precedes, equal a watermark after every record", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 200 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 50 }), fc.integer({ min: 0, max: 3000 }), (times, cuts, delay) => {
        const batches: number[][] = [];
        for (let i = 0, c = 0; i < times.length; c++) {
          const n = cuts[c % cuts.length]!;
          batches.push(times.slice(i, i + n));
          i += n;
        }
        const precise = arrivals(run(times.map((t) => [t]), delay));
        const batched = arrivals(run(batches, delay));
        expect(batched.map((a) => a.late)).toEqual(precise.map((a) => a.late));
        // A late record sees exactly the watermark it would have; any other may see an older one,
        // which closes or expires nothing that reaches it (what it would have closed ends before it).
        for (let i = 0; i < precise.length; i++) {
          if (precise[i]!.late) expect(batched[i]!.watermark).toBe(precise[i]!.watermark);
          else expect(batched[i]!.watermark).toBeLessThanOrEqual(precise[i]!.watermark);
        }
        // The same final watermark.
        const wms = (e: Event[]) => e.filter((x) => !("data" in x) && x.kind === "watermark").map((x) => (x as { time: number }).time);
        expect(wms(run(batches, delay)).at(-1)).toBe(wms(run(times.map((t) => [t]), delay)).at(-1));
      }),
      { numRuns: 300 },
    );
  });

  it("the sessions example gives the same sessions with batches of 1024 as with batches of 1, late clicks included", async () => {
    const root = mkdtempSync(join(tmpdir(), "flowc-wm-batching-"));
    let seed = 11;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const clicks: string[] = [];
    const buys: string[] = [];
    let ts = 1767225600000;
    for (let i = 0; i < 3000; i++) {
      ts += Math.floor(rnd() * 3000);
      // One in ten clicks is up to 10 s older than the newest (2 s delay: some are late).
      const t = rnd() < 0.1 ? ts - Math.floor(rnd() * 10_000) : ts;
      clicks.push(JSON.stringify({ user: `u${Math.floor(rnd() * 40)}`, url: `/p${Math.floor(rnd() * 9)}`, ts: t }));
      if (rnd() < 0.1) buys.push(JSON.stringify({ user: `u${Math.floor(rnd() * 40)}`, amount: Math.floor(rnd() * 1000) / 10, ts: t + Math.floor(rnd() * 60_000) - 30_000 }));
    }
    const program = readFileSync(new URL("../examples/sessions.flow", import.meta.url), "utf8");
    const outputs: { sessions: Map<string, number> }[] = [];
    for (const batchSize of [1, 1024]) {
      const dir = join(root, `b${batchSize}`);
      mkdirSync(join(dir, "data"), { recursive: true });
      writeFileSync(join(dir, "data/clicks.jsonl"), clicks.join("\n") + "\n");
      writeFileSync(join(dir, "data/buys.jsonl"), buys.join("\n") + "\n");
      writeFileSync(join(dir, "job.flow"), program.replace(/^pipeline sessions\n/m, `pipeline sessions\n\nconfig { batchSize: ${batchSize} }\n`));
      const r = await flowcAsync(["run", "job.flow", "--quiet"], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      outputs.push({ sessions: multiset(published(join(dir, "out/sessions"))) });
    }
    expect(outputs[0]!.sessions.size).toBeGreaterThan(100);
    expect(multisetDiff(outputs[1]!.sessions, outputs[0]!.sessions)).toEqual([]);
    // Not the attributions: which click is late at a join depends on how its two inputs interleave
    // (the buys' watermark), which batching changes with or without this operator's batching.
  }, 60_000);
});
