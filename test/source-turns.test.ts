// A source whose batches are always ready (generate) must not keep the event loop to itself: the
// checkpoint interval's timer has to fire and the checkpoint's files have to be written while it
// runs, not only when a sink pushes back or the input ends. Counted, not timed: the source is far
// longer than the test needs, and the job is cancelled once three checkpoints have completed while
// the source was still reading (a source that starved the timers would read to its end first).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { compile, SourceFile } from "../compiler/index.js";
import { EmbeddedCheckpoints } from "../runtime/checkpoint/embedded.js";
import { Job } from "../runtime/exec/job.js";
import type { PlanModule } from "../runtime/plan.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "flowc-turns-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const COUNT = 200_000_000;

it("takes checkpoints while a generate source reads as fast as it can", async () => {
  const text = `pipeline turns
source nums: int = generate(count: ${COUNT})

nums
  |> map(n => n * 2)
  |> keyBy(n => n % 1000)
  |> window(tumbling(1d))
  |> sum(n => n)
  |> sink file(${JSON.stringify(join(dir, "out"))}, format: "jsonl")
`;
  const r = await compile(new SourceFile(join(dir, "turns.flow"), text), { outDir: dir, sourceDir: dir });
  if (!r.emitted) throw new Error(r.diagnostics.map((d) => d.message).join("\n"));
  writeFileSync(join(dir, "turns.plan.mjs"), r.emitted.js);
  const mod = (await import(pathToFileURL(join(dir, "turns.plan.mjs")).href)) as PlanModule;
  const ckpt = await EmbeddedCheckpoints.open(mod.plan, dir, 1, { intervalMs: 20, stateDir: join(dir, "state"), retain: 3, maxDeclines: 3 }, () => {});
  const job = new Job(mod, ckpt.runOptions());
  await job.open();
  // The source's progress at each completed checkpoint.
  const seen: number[] = [];
  let completed = 0;
  let cancelled = false;
  const watch = setInterval(() => {
    if (ckpt.stats.completed > completed) {
      completed = ckpt.stats.completed;
      seen.push(job.stats.recordsIn);
      if (completed >= 3 && !cancelled) {
        cancelled = true;
        void job.cancel("enough checkpoints");
      }
    }
  }, 1);
  let outcome: unknown = null;
  try {
    await job.run();
  } catch (e) {
    outcome = e;
  } finally {
    clearInterval(watch);
    await ckpt.abandon();
  }
  // Three checkpoints completed with the source part-way through its records, and the job was
  // stopped for that, not by the end of its input.
  const during = seen.filter((n) => n > 0 && n < COUNT);
  expect(during.length, `checkpoints completed at ${seen.join(", ")} records read`).toBeGreaterThanOrEqual(3);
  expect(String(outcome)).toContain("enough checkpoints");
});
