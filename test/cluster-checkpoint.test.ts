// Checkpoints on a cluster of in-process workers (the in-memory store and network: the job code of
// a real cluster minus ZooKeeper and TCP). A worker that dies after some checkpoints completed is
// replaced under a new epoch that restores from the latest one; the committed output is exactly
// the fault-free run's: per key, every update once and in order (a replay from the beginning, or
// a duplicate, would show).
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { compile, SourceFile } from "../compiler/index.js";
import type { CoordinatorEvent } from "../runtime/cluster/coordinator.js";
import { InProcessNetwork } from "../runtime/cluster/network.js";
import { MemoryClusterStore } from "../runtime/cluster/store.js";
import { Worker } from "../runtime/cluster/worker.js";
import { Job } from "../runtime/exec/job.js";
import type { PlanModule } from "../runtime/plan.js";
import { sequences } from "./helpers/outputs.js";

const PROGRAM = `
source n: int = generate(count: 6000, rate: 4000)

n
  |> map(x => x % 17)
  |> keyBy(k => k)
  |> aggregate({ n: count(), total: sum(k => k) })
  |> sink file("out/sums", format: "jsonl")
`;

async function load(dir: string): Promise<PlanModule> {
  const r = await compile(new SourceFile("gen.flow", PROGRAM));
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const path = join(dir, "gen.plan.mjs");
  writeFileSync(path, r.emitted!.js);
  return (await import(pathToFileURL(path).href)) as PlanModule;
}

async function run(dir: string, mod: PlanModule, fault: (ws: Worker[], store: MemoryClusterStore, net: InProcessNetwork, events: CoordinatorEvent[]) => Promise<void>) {
  const store = new MemoryClusterStore();
  const net = new InProcessNetwork();
  const events: CoordinatorEvent[] = [];
  const logs: string[] = [];
  const workers = ["w1", "w2", "w3"].map(
    (id, i) =>
      new Worker(store, {
        record: { id, host: "127.0.0.1", dataPort: 9000 + i, slots: 2 },
        loadPlan: async () => mod,
        baseDir: join(dir, "cluster"),
        log: (l) => logs.push(l),
        onCoordinatorEvent: (_job, e) => events.push(e),
      }),
  );
  for (const w of workers) await w.start(net.attach(w.id, w));
  const ckptDir = join(dir, "state");
  store.submit({ name: "gen", planPath: "(memory)", planHash: "h", partitions: 4, secret: "s", submittedAt: Date.now(), checkpoint: { intervalMs: 150, dir: ckptDir, retain: 2, maxDeclines: 3 } });
  await fault(workers, store, net, events);
  for (let i = 0; i < 600; i++) {
    const s = await store.state("gen");
    if (s && (s.value.status === "finished" || s.value.status === "failed")) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const out = join(dir, "cluster/out/sums");
  const settled = () => readdirSync(out).filter((f) => f.startsWith(".")).length === 0;
  for (let i = 0; i < 200 && !settled(); i++) await new Promise((r) => setTimeout(r, 25));
  for (const w of workers) await w.stop().catch(() => {});
  return { state: (await store.state("gen"))!.value, events, logs, files: readdirSync(out).sort(), pointer: await store.latestCheckpoint("gen"), ckptDir };
}

const completed = (events: CoordinatorEvent[]) => events.filter((e) => e.kind === "checkpoint" && e.event.kind === "completed").length;

async function until(pred: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("checkpoints on a cluster of in-process workers", () => {
  it("a worker dies after two checkpoints: the new epoch restores from the latest, the output is exact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-ckpt-cluster-"));
    const mod = await load(dir);
    const embedded = new Job(mod, { partitions: 4, baseDir: join(dir, "embedded") });
    await embedded.open();
    await embedded.run();
    await embedded.commit();
    const r = await run(dir, mod, async (ws, store, net, events) => {
      await until(() => completed(events) >= 2);
      // Not the coordinator: its checkpoints go on; the victim's tasks move.
      const leader = (await store.leader("gen"))!;
      const victim = ws.find((w) => w.id !== leader)!;
      net.detach(victim.id);
      store.expireWorker(victim.id);
      await victim.stop();
    });
    expect(r.state.status).toBe("finished");
    expect(r.state.epoch).toBe(2);
    expect(r.logs.some((l) => /restoring gen from checkpoint \d+ \(epoch 2\)/.test(l))).toBe(true);
    expect(r.files).toEqual(["part-0.jsonl", "part-1.jsonl", "part-2.jsonl", "part-3.jsonl"]);
    const want = sequences(join(dir, "embedded/out/sums"));
    const got = sequences(join(dir, "cluster/out/sums"));
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, seq] of want) expect(got.get(k), `key ${k}`).toEqual(seq);
    // The pointer keeps `retain` checkpoints; older directories are gone.
    expect(r.pointer!.previous.length).toBe(1);
    const dirs = readdirSync(r.ckptDir).filter((e) => e.startsWith("chk-"));
    for (const m of [r.pointer!.manifest, r.pointer!.previous[0]!.manifest]) expect(existsSync(join(r.ckptDir, m))).toBe(true);
    expect(dirs.length).toBeLessThanOrEqual(3);
  });

  it("the coordinator's worker dies mid-checkpoint: the next coordinator restores and the output is exact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-ckpt-cluster-"));
    const mod = await load(dir);
    const embedded = new Job(mod, { partitions: 4, baseDir: join(dir, "embedded") });
    await embedded.open();
    await embedded.run();
    await embedded.commit();
    const r = await run(dir, mod, async (ws, store, net, events) => {
      await until(() => completed(events) >= 1);
      await new Promise((res) => setTimeout(res, 60));
      const leader = (await store.leader("gen"))!;
      net.detach(leader);
      store.expireWorker(leader);
      await ws.find((w) => w.id === leader)!.stop();
    });
    expect(r.state.status).toBe("finished");
    expect(r.logs.some((l) => /restoring gen from checkpoint \d+/.test(l))).toBe(true);
    const want = sequences(join(dir, "embedded/out/sums"));
    const got = sequences(join(dir, "cluster/out/sums"));
    for (const [k, seq] of want) expect(got.get(k), `key ${k}`).toEqual(seq);
  });
});
