// A job split over two Job instances in one process, as a cluster splits it over workers: each runs
// some partitions, and records for the others' partitions travel through remote receivers that
// deliver asynchronously (like a network). The output must equal the embedded run's.
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
source lines: string = stdin()

stream words = lines |> flatMap(l => split(lower(l), "[^a-z]+")) |> filter(w => w != "")

words
  |> keyBy(w => w)
  |> window(tumbling(1h))
  |> aggregate({ n: count(), longest: max(w => len(w)) })
  |> sink file("out/counts", format: "jsonl")

words |> keyBy(w => len(w)) |> count() |> sink file("out/lengths", format: "jsonl")
`;

async function load(dir: string): Promise<PlanModule> {
  const r = await compile(new SourceFile("split.flow", PROGRAM));
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const path = join(dir, "split.plan.mjs");
  writeFileSync(path, r.emitted!.js);
  return (await import(pathToFileURL(path).href)) as PlanModule;
}

function read(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n"))
    .filter((l) => l !== "")
    .map((l) => {
      const { start, end, ...rest } = JSON.parse(l) as Record<string, unknown>;
      void start, void end;
      return JSON.stringify(rest);
    })
    .sort();
}

const text = Array.from({ length: 400 }, (_, i) => `the quick brown fox ${i % 7 === 0 ? "jumps over" : "naps under"} the lazy dog number ${i % 13}`);

describe("a job split over two processes' worth of tasks", () => {
  it("gives the embedded result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-split-"));
    const mod = await load(dir);

    const embedded = new Job(mod, { partitions: 4, baseDir: join(dir, "embedded"), sourceOverrides: { lines: text } });
    await embedded.open();
    await embedded.run();

    // Worker A runs the single-instance source and even partitions, worker B the odd ones.
    const jobs: Job[] = [];
    const inFlight = { n: 0 };
    const placement = (me: number): Placement => ({
      isLocal: (node, p) => (mod.plan.nodes.find((n) => n.id === node)!.parallelism === "single" ? me === 0 : p % 2 === me),
      remote: (node, p): Receiver => ({
        receive: (batch, channel) => {
          const copy = structuredClone(batch);
          inFlight.n++;
          setImmediate(() => {
            inFlight.n--;
            jobs[1 - me]!.deliver(node, p, channel, { batch: copy });
          });
        },
        control: (event, channel) => setImmediate(() => jobs[1 - me]!.deliver(node, p, channel, { event })),
      }),
    });
    for (const me of [0, 1]) jobs.push(new Job(mod, { partitions: 4, baseDir: join(dir, "split"), sourceOverrides: { lines: text }, placement: placement(me) }));
    await Promise.all(jobs.map((j) => j.open()));
    await Promise.all(jobs.map((j) => j.run()));
    expect(inFlight.n).toBe(0);

    for (const sink of ["counts", "lengths"]) {
      const a = read(join(dir, "embedded/out", sink));
      const b = read(join(dir, "split/out", sink));
      expect(b.length).toBeGreaterThan(10);
      expect(b).toEqual(a);
    }
  });
});
