// Three workers in one process, coordinated through the in-memory store and connected by the
// in-process network: the same job code as on a real cluster, minus ZooKeeper and TCP. The output
// equals the embedded run's, also when a worker (possibly the coordinator's) dies mid-run.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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

const PROGRAM = (rate: number) => `
source n: int = generate(count: 3000, rate: ${rate})

n
  |> map(x => x % 17)
  |> keyBy(k => k)
  |> aggregate({ n: count(), total: sum(k => k) })
  |> sink file("out/sums", format: "jsonl")
`;

async function load(dir: string, rate: number): Promise<PlanModule> {
  const r = await compile(new SourceFile("gen.flow", PROGRAM(rate)));
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const path = join(dir, `gen-${rate}.plan.mjs`);
  writeFileSync(path, r.emitted!.js);
  return (await import(pathToFileURL(path).href)) as PlanModule;
}

/** The final value per key (the unwindowed aggregate emits one update per record). */
function finals(dir: string): Map<number, { n: number; total: number }> {
  const m = new Map<number, { n: number; total: number }>();
  for (const f of readdirSync(dir).filter((x) => x.startsWith("part-"))) {
    for (const l of readFileSync(join(dir, f), "utf8").split("\n")) {
      if (!l) continue;
      const r = JSON.parse(l) as { key: number; n: number; total: number };
      const prev = m.get(r.key);
      if (!prev || r.n > prev.n) m.set(r.key, { n: r.n, total: r.total });
    }
  }
  return m;
}

async function cluster(dir: string, mod: PlanModule, kill?: (ws: Worker[], store: MemoryClusterStore, net: InProcessNetwork) => Promise<void>) {
  const store = new MemoryClusterStore();
  const net = new InProcessNetwork();
  const events: CoordinatorEvent[] = [];
  const workers = ["w1", "w2", "w3"].map(
    (id, i) =>
      new Worker(store, {
        record: { id, host: "127.0.0.1", dataPort: 9000 + i, slots: 2 },
        loadPlan: async () => mod,
        baseDir: join(dir, "cluster"),
        onCoordinatorEvent: (_job, e) => events.push(e),
      }),
  );
  for (const w of workers) await w.start(net.attach(w.id, w));
  store.submit({ name: "gen", planPath: "(memory)", planHash: "", partitions: 4, secret: "s", submittedAt: Date.now() });
  if (kill) await kill(workers, store, net);
  for (let i = 0; i < 400; i++) {
    const s = await store.state("gen");
    if (s && (s.value.status === "finished" || s.value.status === "failed")) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  // Workers publish their staged part files once they see the job finished.
  const out = join(dir, "cluster/out/sums");
  for (let i = 0; i < 200 && readdirSync(out).filter((f) => f.startsWith("part-")).length < 4; i++) await new Promise((r) => setTimeout(r, 25));
  for (const w of workers) await w.stop();
  return { state: (await store.state("gen"))!.value, events, files: readdirSync(out).sort() };
}

describe("a cluster of in-process workers", () => {
  it("gives the embedded result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-cluster-"));
    const mod = await load(dir, 0);
    const embedded = new Job(mod, { partitions: 4, baseDir: join(dir, "embedded") });
    await embedded.open();
    await embedded.run();
    const { state, files } = await cluster(dir, mod);
    expect(state.status).toBe("finished");
    expect(files).toEqual(["part-0.jsonl", "part-1.jsonl", "part-2.jsonl", "part-3.jsonl"]);
    expect([...finals(join(dir, "cluster/out/sums"))].sort()).toEqual([...finals(join(dir, "embedded/out/sums"))].sort());
  });

  it("recovers when the coordinator's worker dies mid-run: reassigned under epoch 2, same result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-cluster-"));
    const mod = await load(dir, 6000);
    const embedded = new Job(mod, { partitions: 4, baseDir: join(dir, "embedded") });
    await embedded.open();
    await embedded.run();
    const { state, events, files } = await cluster(dir, mod, async (ws, store, net) => {
      await new Promise((r) => setTimeout(r, 200));
      const leader = (await store.leader("gen"))!;
      net.detach(leader);
      store.expireWorker(leader);
      await ws.find((w) => w.id === leader)!.stop();
    });
    expect(state.status).toBe("finished");
    expect(state.epoch).toBe(2);
    // The dead worker's staged attempt was never published, and the new owners removed it.
    expect(files).toEqual(["part-0.jsonl", "part-1.jsonl", "part-2.jsonl", "part-3.jsonl"]);
    expect(events.filter((e) => e.kind === "assigned").length).toBe(2);
    expect([...finals(join(dir, "cluster/out/sums"))].sort()).toEqual([...finals(join(dir, "embedded/out/sums"))].sort());
  });

  it("holds data for a job the worker has not joined yet (its credit withheld) and delivers it once it joins; drops it if it never does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-cluster-"));
    const mod = await load(dir, 0);
    const store = new MemoryClusterStore();
    const net = new InProcessNetwork();
    const lines: string[] = [];
    const w = new Worker(store, { record: { id: "w1", host: "127.0.0.1", dataPort: 9000, slots: 2 }, loadPlan: async () => mod, baseDir: join(dir, "cluster"), log: (l) => lines.push(l), holdUnjoinedMs: 300 });
    await w.start(net.attach(w.id, w));
    const settled = (p: unknown) => Promise.race([Promise.resolve(p).then(() => true), new Promise((r) => setTimeout(() => r(false), 100))]);
    // Epoch 99: held for the job, then kept for that epoch (which never starts here).
    const early = w.data("gen", 99, { node: "x", partition: 0 }, 0, { event: { kind: "end" } });
    expect(early).toBeInstanceOf(Promise);
    expect(await settled(early)).toBe(false);
    store.submit({ name: "gen", planPath: "(memory)", planHash: "", partitions: 1, secret: "s", submittedAt: Date.now() });
    expect(await settled(early)).toBe(true);
    expect(lines.join("\n")).not.toMatch(/dropped/);
    const never = w.data("other", 1, { node: "x", partition: 0 }, 0, { event: { kind: "end" } });
    expect(await settled(never)).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect(await settled(never)).toBe(true);
    expect(lines.join("\n")).toContain("dropped 1 message(s) for job other, which this worker has not joined");
    await w.stop();
  });
});
