// An event-time job split over two Job instances, as a cluster splits it over workers (records
// and control events for the other's tasks go through asynchronous remote receivers). Which
// out-of-order clicks are late depends on when watermarks arrive over each channel, so it may differ
// from the embedded run; what must hold in both: every click is in a session or in the late stream,
// and the sessions and join pairs of the clicks that are in order are the same.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { compile, SourceFile } from "../compiler/index.js";
import { Job, type Placement } from "../runtime/exec/job.js";
import type { Receiver } from "../runtime/exec/output.js";
import type { PlanModule } from "../runtime/plan.js";

const PROGRAM = `
type Click = { user: string, ts: int }
type Buy = { user: string, amount: int, ts: int }
source clicks: Click = stdin()
source buys: Buy = stdin()

stream timed = clicks |> watermark(c => c.ts, delay: 5s)

timed
  |> keyBy(c => c.user)
  |> window(session(gap: 10s), late: lateClicks)
  |> aggregate({ n: count(), first: min(c => c.ts) })
  |> sink file("out/sessions", format: "jsonl")

lateClicks |> sink file("out/late", format: "jsonl")

timed
  |> join(buys |> watermark(b => b.ts, delay: 1h), on: (c, b) => c.user == b.user, within: 30s)
  |> map(p => { user: p.left.user, click: p.left.ts, buy: p.right.ts })
  |> sink file("out/pairs", format: "jsonl")
`;

const users = ["ann", "bob", "cyd", "dee", "eli", "fay", "gus"];
// Clicks mostly in time order, every 17th one a minute behind: late for the session windows.
const clicks = Array.from({ length: 300 }, (_, i) => ({ user: users[(i * 5) % 7]!, ts: i * 3000 - (i % 17 === 16 ? 60_000 : 0) }));
const buys = Array.from({ length: 40 }, (_, i) => ({ user: users[i % 7]!, amount: i, ts: i * 22_000 }));

async function load(dir: string): Promise<PlanModule> {
  const r = await compile(new SourceFile("split-et.flow", PROGRAM));
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const path = join(dir, "split-et.plan.mjs");
  writeFileSync(path, r.emitted!.js);
  return (await import(pathToFileURL(path).href)) as PlanModule;
}

const read = (dir: string): string[] =>
  readdirSync(dir)
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n"))
    .filter((l) => l !== "")
    .sort();

describe("an event-time job split over two workers' worth of tasks", () => {
  it("gives the embedded result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-split-et-"));
    const mod = await load(dir);
    const inputs = { clicks, buys };

    const embedded = new Job(mod, { partitions: 4, baseDir: join(dir, "embedded"), sourceOverrides: inputs });
    await embedded.open();
    const summary = await embedded.run();

    const jobs: Job[] = [];
    const placement = (me: number): Placement => ({
      isLocal: (node, p) => (mod.plan.nodes.find((n) => n.id === node)!.parallelism === "single" ? me === 0 : p % 2 === me),
      remote: (node, p): Receiver => ({
        receive: (batch, channel) => {
          const copy = structuredClone(batch);
          setImmediate(() => jobs[1 - me]!.deliver(node, p, channel, { batch: copy }));
        },
        control: (event, channel) => setImmediate(() => jobs[1 - me]!.deliver(node, p, channel, { event })),
      }),
    });
    for (const me of [0, 1]) jobs.push(new Job(mod, { partitions: 4, baseDir: join(dir, "split"), sourceOverrides: inputs, placement: placement(me) }));
    await Promise.all(jobs.map((j) => j.open()));
    await Promise.all(jobs.map((j) => j.run()));

    const outOfOrder = new Set(clicks.filter((_, i) => i % 17 === 16).map((c) => JSON.stringify(c)));
    for (const mode of ["embedded", "split"]) {
      const late = read(join(dir, mode, "out/late"));
      const sessions = read(join(dir, mode, "out/sessions")).map((l) => JSON.parse(l) as { n: number });
      expect(late.every((l) => outOfOrder.has(l)), mode).toBe(true);
      expect(sessions.reduce((n, x) => n + x.n, 0) + late.length, mode).toBe(clicks.length);
    }
    // The embedded run delivers every watermark before the next record: all out-of-order clicks are late there.
    expect(read(join(dir, "embedded/out/late")).length).toBe(outOfOrder.size);
    expect(summary.recordsIn).toBe(clicks.length + buys.length);

    const inOrder = (l: string) => !outOfOrder.has(JSON.stringify({ user: JSON.parse(l).user, ts: JSON.parse(l).click }));
    const a = read(join(dir, "embedded/out/pairs")).filter(inOrder);
    const b = read(join(dir, "split/out/pairs")).filter(inOrder);
    expect(a.length).toBeGreaterThan(10);
    expect(b).toEqual(a);
  });
});
