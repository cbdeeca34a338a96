// Checkpoints in one process: the state directory (checksums, the latest pointer, fallback from a
// damaged checkpoint), the two-phase-commit file sink (staging, idempotent re-commit), and the
// protocol through a real job: two sources whose barriers align at a union, a keyed count, a crash
// after some checkpoints (the job cancelled without flushing), and a resume, also into another
// number of partitions, whose output equals the fault-free run's.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it, vi } from "vitest";
import { compile, SourceFile } from "../compiler/index.js";
import { EmbeddedCheckpoints } from "../runtime/checkpoint/embedded.js";
import { commitStagedOutput, openStagedFileSink } from "../runtime/checkpoint/staged-file-sink.js";
import { CheckpointStore } from "../runtime/checkpoint/store.js";
import { ConnectorError } from "../runtime/connectors/api.js";
import { Job, JobError } from "../runtime/exec/job.js";
import { AggregateOperator } from "../runtime/operators/aggregate.js";
import type { PlanModule } from "../runtime/plan.js";
import { T } from "../runtime/types.js";

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `flow-ckpt-${name}-`));

describe("the state directory", () => {
  const meta = (id: number) => ({ id, pipeline: "p", planHash: "h", partitions: 1, keyGroups: 128, sources: [], sinks: [] });
  const state = (n: number) => ({ node: "agg", partition: 0, state: { operator: "agg", keyGroups: { 3: [[null, "k", n]] } } });

  it("loads the latest completed checkpoint; one written but never published is removed", async () => {
    const store = new CheckpointStore(tmp("store"));
    for (const id of [1, 2]) await store.publish(id, await store.write(meta(id), [state(id)]));
    await store.write(meta(3), [state(3)]);
    const warnings: string[] = [];
    const loaded = await store.load((w) => warnings.push(w));
    expect(loaded?.manifest.id).toBe(2);
    expect(loaded?.states).toEqual([state(2).state]);
    expect(warnings).toEqual([]);
    expect(existsSync(join(store.dir, "chk-3"))).toBe(false);
    expect(JSON.parse(readFileSync(join(store.dir, "latest"), "utf8")).id).toBe(2);
  });

  it("never uses a truncated or corrupt latest checkpoint: falls back to the previous one, with a warning", async () => {
    const store = new CheckpointStore(tmp("corrupt"));
    for (const id of [1, 2, 3]) await store.publish(id, await store.write(meta(id), [state(id)]));
    truncateSync(join(store.dir, "chk-3", "agg.0.json"), 10);
    const file2 = join(store.dir, "chk-2", "agg.0.json");
    writeFileSync(file2, readFileSync(file2, "utf8").replace("2", "7"));
    const warnings: string[] = [];
    const loaded = await store.load((w) => warnings.push(w));
    expect(loaded?.manifest.id).toBe(1);
    expect(warnings.join("\n")).toMatch(/checkpoint 3 .* damaged .*agg\.0\.json does not match its checksum/);
    expect(warnings.join("\n")).toMatch(/checkpoint 2 .* damaged/);
    expect(warnings.at(-1)).toBe("using checkpoint 1 instead");
  });

  it("keeps the last N checkpoints", async () => {
    const store = new CheckpointStore(tmp("prune"));
    for (const id of [1, 2, 3, 4, 5]) {
      await store.publish(id, await store.write(meta(id), [state(id)]));
      await store.prune(id, 3);
    }
    expect(readdirSync(store.dir).filter((f) => f.startsWith("chk-")).sort()).toEqual(["chk-3", "chk-4", "chk-5"]);
  });
});

describe("the two-phase-commit file sink", () => {
  const opts = { format: "lines" as const, type: T.string, writeError: (_f: string, e: unknown) => new ConnectorError(String(e)) };

  it("publishes a checkpoint's records only once it has completed; a re-commit after a crash gives the same file", async () => {
    const dir = tmp("sink");
    const w = await openStagedFileSink(dir, "part-0.txt", { resumed: false, after: 0 }, opts);
    w.write(["a", "b"]);
    const first = await w.preCommit!(1);
    w.write(["c"]);
    const second = await w.preCommit!(2);
    w.write(["d"]);
    expect(readFileSync(join(dir, "part-0.txt"), "utf8")).toBe("");
    await w.commitCheckpoint!(1);
    expect(readFileSync(join(dir, "part-0.txt"), "utf8")).toBe("a\nb\n");
    expect(second.segments.map((s) => s.start)).toEqual([0, 4]);
    expect(second.length).toBe(6);
    // A crash after checkpoint 2 completed, before or after its commit: recovery commits it again.
    await commitStagedOutput(second, 2);
    await commitStagedOutput(second, 2);
    expect(readFileSync(join(dir, "part-0.txt"), "utf8")).toBe("a\nb\nc\n");
    // Recovery to checkpoint 1 cuts off what checkpoint 2 appended.
    await commitStagedOutput(first, 1);
    expect(readFileSync(join(dir, "part-0.txt"), "utf8")).toBe("a\nb\n");
    await w.close();
    expect(readdirSync(dir).filter((f) => f.startsWith("."))).toHaveLength(1);
  });
});

const PROGRAM = `pipeline ck

source a: int = generate(count: 3000, rate: 6000)
source b: int = generate(count: 2000, rate: 4000, seed: 2)

a
  |> union(b |> map(x => x + 100000))
  |> keyBy(x => x % 37)
  |> count()
  |> sink file("out", format: "jsonl")
`;

async function load(dir: string): Promise<PlanModule> {
  const r = await compile(new SourceFile("ck.flow", PROGRAM));
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const path = join(dir, "ck.plan.mjs");
  writeFileSync(path, r.emitted!.js);
  return (await import(pathToFileURL(path).href)) as PlanModule;
}

/** Runs the job; with `crashAfter`, cancels it (no flush, no commit) once that many checkpoints completed. */
async function run(mod: PlanModule, dir: string, partitions: number, crashAfter?: number) {
  const warnings: string[] = [];
  const ck = await EmbeddedCheckpoints.open(mod.plan, dir, partitions, { intervalMs: 40, stateDir: join(dir, "state"), retain: 3, maxDeclines: 3 }, (w) => warnings.push(w));
  const job = new Job(mod, { partitions, baseDir: dir, ...ck.runOptions() });
  await job.open();
  const running = job.run();
  if (crashAfter !== undefined) {
    while (ck.stats.completed < crashAfter) await new Promise((r) => setTimeout(r, 5));
    // Handled before cancelling: run() rejects while cancel() is still closing files.
    const ended = running.catch(() => {});
    await job.cancel("crash");
    await ended;
    await ck.abandon();
    return { ck, warnings };
  }
  await running;
  await ck.finish(job);
  return { ck, warnings };
}

function output(dir: string): { rows: string[]; perFile: { key: number; count: number }[][] } {
  const files = readdirSync(join(dir, "out"));
  expect(files.filter((f) => f.startsWith("."))).toEqual([]);
  const perFile = files.map((f) => readFileSync(join(dir, "out", f), "utf8").split("\n").filter((l) => l).map((l) => JSON.parse(l) as { key: number; count: number }));
  return { rows: perFile.flat().map((r) => `${r.key}:${r.count}`).sort(), perFile };
}

/** Within a file, each key's counts go up by one. */
function expectSequences(perFile: { key: number; count: number }[][]): void {
  for (const rows of perFile) {
    const last = new Map<number, number>();
    for (const r of rows) {
      const prev = last.get(r.key);
      if (prev !== undefined) expect(r.count).toBe(prev + 1);
      last.set(r.key, r.count);
    }
  }
}

describe("checkpoints through a job", () => {
  it("aligns barriers of two sources at a union; a resumed run (also with 3 partitions instead of 2) gives the fault-free output", async () => {
    const base = tmp("job");
    const mod = await load(base);
    const ref = join(base, "ref");
    mkdirSync(ref);
    const fault = await run(mod, ref, 2);
    expect(fault.ck.stats.completed).toBeGreaterThan(2);
    expect(fault.ck.stats.pauses.length).toBe(fault.ck.stats.completed);
    expect(existsSync(join(ref, "state"))).toBe(false);
    const expected = output(ref);
    expect(expected.rows).toHaveLength(5000);
    expectSequences(expected.perFile);

    for (const [crashAfter, partitions] of [
      [2, 2],
      [3, 3],
    ] as const) {
      const dir = join(base, `crash-${crashAfter}-${partitions}`);
      mkdirSync(dir);
      await run(mod, dir, 2, crashAfter);
      const manifest = JSON.parse(readFileSync(join(dir, "state", `chk-${crashAfter}`, "manifest.json"), "utf8"));
      expect(manifest.sources.map((s: { position: { produced: number } }) => s.position.produced).every((n: number) => n > 0)).toBe(true);
      const resumed = await run(mod, dir, partitions);
      expect(resumed.ck.stats.resumedFrom).toBeGreaterThanOrEqual(crashAfter);
      const got = output(dir);
      expect(got.rows).toEqual(expected.rows);
      expectSequences(got.perFile);
      expect(readdirSync(join(dir, "out")).length).toBe(Math.max(2, partitions));
    }
  }, 60_000);
});

describe("declined checkpoints", () => {
  it("a snapshot that throws declines its checkpoint and the job goes on; 3 in a row fail the job with the reason", async () => {
    const base = tmp("decline");
    const mod = await load(base);
    const real = AggregateOperator.prototype.snapshot;
    let calls = 0;
    // Every third snapshot fails: never three declines in a row.
    const spy = vi.spyOn(AggregateOperator.prototype, "snapshot").mockImplementation(function (this: AggregateOperator) {
      if (++calls % 6 < 2) throw new Error("no memory for a copy");
      return real.call(this);
    });
    try {
      const dir = join(base, "sometimes");
      mkdirSync(dir);
      const r = await run(mod, dir, 2);
      expect(r.ck.stats.declined).toBeGreaterThan(0);
      expect(r.ck.stats.completed).toBeGreaterThan(0);
      expect(r.warnings.some((w) => /checkpoint \d+ declined: the snapshot of aggregate_count_\w+#[01] failed: no memory for a copy/.test(w))).toBe(true);
      expect(output(dir).rows).toHaveLength(5000);

      spy.mockImplementation(() => {
        throw new Error("no memory for a copy");
      });
      const always = join(base, "always");
      mkdirSync(always);
      const failed = await run(mod, always, 2).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(JobError);
      expect((failed as Error).message).toMatch(/^3 checkpoints in a row were declined; the last because the snapshot of .* failed: no memory for a copy$/);
    } finally {
      spy.mockRestore();
    }
  }, 60_000);

  it("a checkpoint of another version of the pipeline is refused", async () => {
    const base = tmp("other");
    const mod = await load(base);
    const dir = join(base, "job");
    mkdirSync(dir);
    await run(mod, dir, 2, 1);
    const changed = { ...mod.plan, nodes: mod.plan.nodes.map((n) => (n.kind === "sink" ? { ...n, label: "changed" } : n)) };
    await expect(EmbeddedCheckpoints.open(changed, dir, 2, { intervalMs: 40, stateDir: join(dir, "state"), retain: 3, maxDeclines: 3 }, () => {})).rejects.toThrow(/holds a checkpoint of another version of pipeline `ck`/);
  }, 60_000);
});
