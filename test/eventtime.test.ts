// Event time, windows, late elements, joins, distinct and union, run end to end in this process:
// each program is compiled, its emitted module imported and run with given records in place of its
// sources. The expected outputs are computed by hand in the comments next to them.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { compile, SourceFile } from "../compiler/index.js";
import { WorkerMetrics } from "../runtime/cluster/metrics.js";
import { Job, type RunOptions, type RunSummary } from "../runtime/exec/job.js";
import type { PlanModule } from "../runtime/plan.js";

const work = mkdtempSync(join(tmpdir(), "flowc-eventtime-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;

async function load(program: string): Promise<{ mod: PlanModule; dir: string }> {
  const r = await compile(new SourceFile("t.flow", program));
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  const dir = join(work, `job${n++}`);
  const path = `${dir}.plan.mjs`;
  writeFileSync(path, r.emitted!.js);
  return { mod: (await import(pathToFileURL(path).href)) as PlanModule, dir };
}

/** Runs a program whose sinks are `file("out/NAME", format: "jsonl")`; returns every sink's records. */
async function run(program: string, inputs: Record<string, unknown[]>, opts: RunOptions = {}): Promise<{ out: (name: string) => Record<string, unknown>[]; summary: RunSummary }> {
  const { mod, dir } = await load(program);
  const job = new Job(mod, { baseDir: dir, sourceOverrides: inputs, ...opts });
  await job.open();
  const summary = await job.run();
  const out = (name: string) => {
    const d = join(dir, "out", name);
    if (!existsSync(d)) return [];
    return readdirSync(d).flatMap((f) => readFileSync(join(d, f), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)));
  };
  return { out, summary };
}

const bySortKey = (rows: Record<string, unknown>[]) => [...rows].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
const s = (sec: number) => sec * 1000;
const ev = (k: string, sec: number) => ({ k, ts: s(sec) });

const HEADER = `
type E = { k: string, ts: int }
source events: E = stdin()
`;

describe("event-time windows", () => {
  const tumbling = (late: string) => `${HEADER}
events
  |> watermark(e => e.ts, delay: 1s)
  |> keyBy(e => e.k)
  |> window(tumbling(10s)${late})
  |> count()
  |> sink file("out/counts", format: "jsonl")
`;
  // a@1 a@4 b@5 a@11 (watermark 10: [0,10) closes with a:2, b:1) a@3 (behind the watermark: late)
  // a@12 b@25 (watermark 24: [10,20) closes with a:2) end ([20,30) closes with b:1).
  const input = [ev("a", 1), ev("a", 4), ev("b", 5), ev("a", 11), ev("a", 3), ev("a", 12), ev("b", 25)];
  const expected = [
    { key: "a", count: 2, start: 0, end: s(10) },
    { key: "b", count: 1, start: 0, end: s(10) },
    { key: "a", count: 2, start: s(10), end: s(20) },
    { key: "b", count: 1, start: s(20), end: s(30) },
  ];

  it("tumbling: a window closes when the watermark passes its end; a late element is counted and dropped", async () => {
    for (const partitions of [1, 3]) {
      const { out, summary } = await run(tumbling(""), { events: input }, { partitions });
      expect(bySortKey(out("counts"))).toEqual(bySortKey(expected));
      expect(summary.lateRecords).toBe(1);
    }
  });

  it("a watermark between a map and a keyBy runs in their chain (fused), with the same windows and late records", async () => {
    const fused = tumbling("").replace("|> watermark(e => e.ts, delay: 1s)", "|> map(e => { k: e.k, ts: e.ts })\n  |> watermark(e => e.ts, delay: 1s)");
    // The same program with the map's output read twice: nothing fuses across the watermark.
    const apart = fused.replace("events\n  |> map(e => { k: e.k, ts: e.ts })", 'stream m = events |> map(e => { k: e.k, ts: e.ts })\nm |> sink file("out/copy", format: "jsonl")\nm');
    const { mod } = await load(fused);
    const chain = mod.plan.nodes.find((x) => x.kind === "chain")!;
    const wm = mod.plan.nodes.find((x) => x.kind === "watermark")!;
    const agg = mod.plan.nodes.find((x) => x.kind === "aggregate")!;
    expect(chain.kind === "chain" && chain.steps.map((x) => x.op)).toEqual(["map", "watermark", "keyBy"]);
    // The watermark only tracks the chain's times; the exchange comes after it.
    expect(wm.kind === "watermark" && wm.fn).toBeUndefined();
    expect(wm.inputs).toEqual([{ from: chain.id, partitioning: "forward" }]);
    expect(agg.inputs).toEqual([{ from: wm.id, partitioning: "hash" }]);
    const unfused = (await load(apart)).mod;
    expect(unfused.plan.nodes.filter((x) => x.kind === "chain").map((x) => x.kind === "chain" && x.steps.map((y) => y.op))).toEqual([["map"], ["keyBy"]]);
    const { out, summary } = await run(fused, { events: input });
    expect(bySortKey(out("counts"))).toEqual(bySortKey(expected));
    expect(summary.lateRecords).toBe(1);
    // Any batch size, any number of partitions: what the unfused plan gives.
    for (const batchSize of [1, 2, 1024]) {
      for (const partitions of [1, 3]) {
        const config = (p: string) => p.replace("type E", `config { batchSize: ${batchSize} }\ntype E`);
        const a = await run(config(fused), { events: input }, { partitions });
        const b = await run(config(apart), { events: input }, { partitions });
        expect(bySortKey(a.out("counts")), `batchSize ${batchSize}, partitions ${partitions}`).toEqual(bySortKey(b.out("counts")));
        expect(a.summary.lateRecords).toBe(b.summary.lateRecords);
      }
    }
  });

  it("a fused watermark reports a record without a timestamp at its own line, and skips it", async () => {
    const program = tumbling("").replace("|> watermark(e => e.ts, delay: 1s)", "|> map(e => { k: e.k, ts: e.ts })\n  |> watermark(e => e.k == \"bad\" ? e.ts % 0 : e.ts, delay: 1s)");
    const failures: string[] = [];
    const { out, summary } = await run(program, { events: [...input.slice(0, 3), ev("bad", 2), ...input.slice(3)] }, { reporter: { recordFailed: (f) => failures.push(`${f.where}: ${f.message}`) } });
    expect(bySortKey(out("counts"))).toEqual(bySortKey(expected));
    expect(summary.failedRecords).toBe(1);
    expect(failures).toEqual(["t.flow:7: the timestamp is null, not a number of milliseconds"]);
  });

  it("a watermark after keyBy keeps the key", async () => {
    const program = tumbling("").replace("|> watermark(e => e.ts, delay: 1s)\n  |> keyBy(e => e.k)", "|> keyBy(e => e.k)\n  |> watermark(e => e.ts, delay: 1s)");
    expect(program).toContain("keyBy(e => e.k)\n  |> watermark");
    // One partition: with more, a watermark partition that no key hashes to would hold event time
    // back for the idle timeout, longer than this input lasts.
    const { out, summary } = await run(program, { events: input });
    expect(bySortKey(out("counts"))).toEqual(bySortKey(expected));
    expect(summary.lateRecords).toBe(1);
  });

  it("late records are counted in the worker metrics too", async () => {
    const { mod, dir } = await load(tumbling(""));
    const job = new Job(mod, { baseDir: dir, sourceOverrides: { events: input } });
    await job.open();
    await job.run();
    const metrics = new WorkerMetrics("w1", () => [{ name: "t", epoch: 1, job }]);
    const port = await metrics.listen(0);
    try {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/^flow_late_records_total\{job="t",worker="w1"\} 1$/m);
    } finally {
      await metrics.close();
    }
  });

  it("late: NAME sends the late elements to a stream instead", async () => {
    const program = `${tumbling(", late: tooLate")}
tooLate |> sink file("out/late", format: "jsonl")
`;
    const { out, summary } = await run(program, { events: input });
    expect(bySortKey(out("counts"))).toEqual(bySortKey(expected));
    expect(out("late")).toEqual([ev("a", 3)]);
    expect(summary.lateRecords).toBe(0);
  });

  it("sliding: every element is in size/every windows", async () => {
    const program = `${HEADER}
events
  |> watermark(e => e.ts, delay: 0s)
  |> keyBy(e => e.k)
  |> window(sliding(10s, every: 5s))
  |> count()
  |> sink file("out/counts", format: "jsonl")
`;
    // a@1 is in [-5,5) and [0,10); a@6 in [0,10) and [5,15); a@12 in [5,15) and [10,20).
    const { out } = await run(program, { events: [ev("a", 1), ev("a", 6), ev("a", 12)] });
    expect(bySortKey(out("counts"))).toEqual(
      bySortKey([
        { key: "a", count: 1, start: s(-5), end: s(5) },
        { key: "a", count: 2, start: 0, end: s(10) },
        { key: "a", count: 2, start: s(5), end: s(15) },
        { key: "a", count: 1, start: s(10), end: s(20) },
      ]),
    );
  });

  it("session: elements less than `gap` apart form one session; a late-arriving element bridges two", async () => {
    const program = `${HEADER}
events
  |> watermark(e => e.ts, delay: 5s)
  |> keyBy(e => e.k)
  |> window(session(gap: 5s))
  |> aggregate({ n: count(), first: min(e => e.ts), last: max(e => e.ts) })
  |> sink file("out/sessions", format: "jsonl")
`;
    // a: [1,8) from a@1 a@3, [10,15) from a@10; a@7 (not late: the watermark is 10 - 5 = 5) overlaps
    // both, so they merge into [1,15) with 4 elements. b@2 is [2,7). b@30 moves the watermark to
    // 25: both close. The end of input closes b's [30,35).
    const { out } = await run(program, { events: [ev("a", 1), ev("a", 3), ev("b", 2), ev("a", 10), ev("a", 7), ev("b", 30)] });
    expect(bySortKey(out("sessions"))).toEqual(
      bySortKey([
        { key: "a", n: 4, first: s(1), last: s(10), start: s(1), end: s(15) },
        { key: "b", n: 1, first: s(2), last: s(2), start: s(2), end: s(7) },
        { key: "b", n: 1, first: s(30), last: s(30), start: s(30), end: s(35) },
      ]),
    );
  });

  it("processing-time tumbling windows (no watermark) still close at the end of input", async () => {
    const program = `${HEADER}
events |> keyBy(e => e.k) |> window(tumbling(1h)) |> sum(e => e.ts) |> sink file("out/sums", format: "jsonl")
`;
    const { out } = await run(program, { events: [ev("a", 1), ev("b", 2), ev("a", 3)] });
    const rows = out("sums") as { key: string; sum: number; start: number; end: number }[];
    expect(rows.map((r) => [r.key, r.sum]).sort()).toEqual([["a", s(4)], ["b", s(2)]]);
    for (const r of rows) {
      expect(r.end - r.start).toBe(3_600_000);
      expect(r.start % 3_600_000).toBe(0);
      // Wall-clock windows: near now, not near the records' timestamps.
      expect(Math.abs(r.start - Date.now())).toBeLessThan(2 * 3_600_000);
    }
  });
});

describe("idle partitions", () => {
  const program = `
type E = { k: string, ts: int }
config { partitions: 2 }
source events: E = stdin(format: "jsonl")
events
  |> map(e => e)
  |> watermark(e => e.ts, delay: 1s)
  |> keyBy(e => e.k)
  |> window(tumbling(10s))
  |> count()
  |> sink stdout()
`;

  /**
   * Starts the job on an open stdin and writes one chunk: one batch, which the rebalance after the
   * source hands to partition 0 of the map and so of the watermark; partition 1 receives nothing.
   */
  async function start(idleTimeoutMs: number) {
    const { mod } = await load(program);
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let text = "";
    stdout.on("data", (d) => (text += d));
    const job = new Job(mod, { stdin, stdout, idleTimeoutMs });
    await job.open();
    const done = job.run();
    stdin.write([ev("a", 1), ev("a", 2), ev("a", 15)].map((e) => JSON.stringify(e)).join("\n") + "\n");
    return { stdin, done, output: () => text };
  }

  const waitFor = async (cond: () => boolean, ms: number) => {
    for (const t0 = Date.now(); Date.now() - t0 < ms; ) {
      if (cond()) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return cond();
  };

  it("a partition that receives nothing stops holding event time back after the idle timeout", async () => {
    const { stdin, done, output } = await start(200);
    // Watermark 14 on the busy partition; the other never sees a record. While stdin is still open:
    expect(await waitFor(() => output().includes('"count":2'), 5000)).toBe(true);
    expect(output().trim().split("\n").map((l) => JSON.parse(l))).toEqual([{ key: "a", count: 2, start: 0, end: s(10) }]);
    stdin.end();
    await done;
    expect(output().trim().split("\n").map((l) => JSON.parse(l))).toContainEqual({ key: "a", count: 1, start: s(10), end: s(20) });
  });

  it("without the timeout the idle partition holds the window until the input ends", async () => {
    const { stdin, done, output } = await start(60_000);
    expect(await waitFor(() => output() !== "", 800)).toBe(false);
    stdin.end();
    await done;
    expect(output()).toContain('"count":2');
  });
});

describe("join, distinct, union", () => {
  it("interval join: pairs with equal keys at most `within` apart, on either side of the equality", async () => {
    for (const on of ["c.user == b.user", "b.user == c.user"]) {
      const program = `
type Click = { user: string, ts: int }
type Buy = { user: string, amount: float, ts: int }
source clicks: Click = stdin()
source buys: Buy = stdin()
clicks
  |> watermark(c => c.ts, delay: 1m)
  |> join(buys |> watermark(b => b.ts, delay: 1m), on: (c, b) => ${on}, within: 10s)
  |> map(p => { user: p.left.user, click: p.left.ts, buy: p.right.ts })
  |> sink file("out/pairs", format: "jsonl")
`;
      const clicks = [{ user: "ann", ts: s(1) }, { user: "bob", ts: s(2) }, { user: "ann", ts: s(30) }];
      const buys = [{ user: "ann", amount: 1, ts: s(5) }, { user: "ann", amount: 2, ts: s(25) }, { user: "bob", amount: 3, ts: s(20) }, { user: "bob", amount: 4, ts: s(12) }, { user: "cat", amount: 5, ts: s(3) }];
      // ann@1–ann@5 (4 s), ann@30–ann@25 (5 s), bob@2–bob@12 (exactly 10 s); not ann@1–ann@25,
      // ann@30–ann@5, bob@2–bob@20; cat has no clicks.
      const { out } = await run(program, { clicks, buys }, { partitions: 2 });
      expect(bySortKey(out("pairs"))).toEqual(
        bySortKey([
          { user: "ann", click: s(1), buy: s(5) },
          { user: "ann", click: s(30), buy: s(25) },
          { user: "bob", click: s(2), buy: s(12) },
        ]),
      );
    }
  });

  it("a join without watermarks runs in processing time: arrival times, here all within the interval", async () => {
    const program = `
type Click = { user: string, ts: int }
source clicks: Click = stdin()
source buys: Click = stdin()
clicks |> join(buys, on: (c, b) => c.user == b.user, within: 1h) |> map(p => p.left.ts * 10 + p.right.ts) |> sink file("out/pairs", format: "jsonl")
`;
    const { out } = await run(program, { clicks: [{ user: "a", ts: 1 }, { user: "b", ts: 2 }, { user: "a", ts: 3 }], buys: [{ user: "a", ts: 4 }, { user: "c", ts: 5 }] }, { partitions: 2 });
    expect(out("pairs").sort()).toEqual([14, 34]);
  });

  it("distinct drops a key's repeats within the interval after its last kept element", async () => {
    const program = `${HEADER}
events
  |> watermark(e => e.ts, delay: 1m)
  |> distinct(e => e.k, within: 10s)
  |> sink file("out/kept", format: "jsonl")
`;
    // a@0 kept; a@5 dropped; a@12 kept (12 s after a@0); b@1 kept; a@13 dropped (1 s after a@12); a@25 kept.
    const { out } = await run(program, { events: [ev("a", 0), ev("a", 5), ev("a", 12), ev("b", 1), ev("a", 13), ev("a", 25)] }, { partitions: 2 });
    expect(bySortKey(out("kept"))).toEqual(bySortKey([ev("a", 0), ev("a", 12), ev("b", 1), ev("a", 25)]));
  });

  it("distinct in processing time drops every repeat within the interval", async () => {
    const program = `${HEADER}
events |> distinct(e => e.k, within: 1h) |> sink file("out/kept", format: "jsonl")
`;
    const { out } = await run(program, { events: [ev("a", 0), ev("a", 5), ev("b", 1), ev("a", 99)] });
    expect(bySortKey(out("kept"))).toEqual(bySortKey([ev("a", 0), ev("b", 1)]));
  });

  it("union merges two streams, and two event-time streams feed one window", async () => {
    const program = `
type E = { k: string, ts: int }
source left: E = stdin()
source right: E = stdin()
left |> union(right |> map(e => { k: upper(e.k), ts: e.ts })) |> sink file("out/all", format: "jsonl")
left |> watermark(e => e.ts, delay: 0s)
  |> union(right |> watermark(e => e.ts, delay: 0s))
  |> keyBy(e => e.k) |> window(tumbling(10s)) |> count() |> sink file("out/counts", format: "jsonl")
`;
    const { out } = await run(program, { left: [ev("a", 1), ev("b", 2)], right: [ev("a", 3), ev("a", 12)] }, { partitions: 2 });
    expect(bySortKey(out("all"))).toEqual(bySortKey([ev("a", 1), ev("b", 2), ev("A", 3), ev("A", 12)]));
    expect(bySortKey(out("counts"))).toEqual(
      bySortKey([
        { key: "a", count: 2, start: 0, end: s(10) },
        { key: "b", count: 1, start: 0, end: s(10) },
        { key: "a", count: 1, start: s(10), end: s(20) },
      ]),
    );
  });
});
