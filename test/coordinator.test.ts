// The job coordinator against the in-memory store: assignment under epochs, reassignment when a
// worker disappears, finishing only on the current epoch's reports, cancel, and fencing: a second
// coordinator that took over makes the first one's writes fail, and the first steps down.
import { describe, expect, it } from "vitest";
import { JobCoordinator, type CoordinatorEvent } from "../runtime/cluster/coordinator.js";
import { MemoryClusterStore } from "../runtime/cluster/store.js";
import { PLAN_VERSION, type ExecutionPlan } from "../runtime/plan.js";
import { T } from "../runtime/types.js";

const loc = { file: "t.flow", line: 1, column: 1, endLine: 1, endColumn: 1 };
const plan: ExecutionPlan = {
  version: PLAN_VERSION,
  name: "t",
  sourceFile: "t.flow",
  sourceDir: ".",
  config: { partitions: 4, keyGroups: 128, checkpointIntervalMs: null, batchSize: 1024 },
  nodes: [
    { kind: "source", id: "src", name: "lines", connector: { type: "stdin", args: {} }, label: "", parallelism: "single", inputs: [], loc, outputType: T.string, keyed: false },
    { kind: "sink", id: "out", name: null, connector: { type: "file", args: { path: "out" } }, label: "", parallelism: "partitioned", inputs: [{ from: "src", partitioning: "rebalance" }], loc, outputType: T.string, keyed: false },
  ],
};

function setup(workers = ["w1", "w2", "w3"]) {
  const store = new MemoryClusterStore();
  for (const id of workers) store.addWorker({ id, host: "127.0.0.1", dataPort: 1, slots: 2 });
  store.submit({ name: "t", planPath: "/plans/t.js", planHash: "x", partitions: 4, secret: "s", submittedAt: 0 });
  const events: CoordinatorEvent[] = [];
  const c = new JobCoordinator(store, "t", plan, 4, (e) => events.push(e));
  return { store, c, events };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("job coordinator", () => {
  it("assigns every task under epoch 1 and marks the job running", async () => {
    const { store, c } = setup();
    await c.start();
    const a = (await store.assignment("t"))!.value;
    expect(a.epoch).toBe(1);
    expect(Object.keys(a.tasks).sort()).toEqual(["p0", "p1", "p2", "p3", "s:src"]);
    expect((await store.state("t"))!.value).toMatchObject({ status: "running", epoch: 1 });
  });

  it("reassigns a dead worker's tasks under a new epoch; reports of the old epoch do not finish the job", async () => {
    const { store, c } = setup();
    await c.start();
    const before = (await store.assignment("t"))!.value;
    const victim = before.tasks.p0!;
    store.removeWorker(victim);
    await tick();
    const after = (await store.assignment("t"))!.value;
    expect(after.epoch).toBe(2);
    expect(Object.values(after.tasks)).not.toContain(victim);
    for (const [k, w] of Object.entries(before.tasks)) if (w !== victim) expect(after.tasks[k]).toBe(w);
    for (const w of new Set(Object.values(after.tasks))) await c.reportFinished(w, 1);
    expect((await store.state("t"))!.value.status).toBe("running");
    for (const w of new Set(Object.values(after.tasks))) await c.reportFinished(w, 2);
    expect((await store.state("t"))!.value).toMatchObject({ status: "finished", epoch: 2 });
  });

  it("cancel goes through cancelling to cancelled once the workers have stopped", async () => {
    const { store, c } = setup(["w1"]);
    await c.start();
    await c.cancel();
    expect((await store.state("t"))!.value.status).toBe("cancelling");
    await c.reportFinished("w1", 1);
    expect((await store.state("t"))!.value.status).toBe("cancelled");
  });

  it("a coordinator whose epoch was superseded is refused and steps down", async () => {
    const { store, events } = setup();
    // The old coordinator is paused (say, SIGSTOP): it sees no change while paused.
    const paused: MemoryClusterStore = Object.create(store);
    paused.onWorkersChanged = () => () => {};
    const c = new JobCoordinator(paused, "t", plan, 4, (e) => events.push(e));
    await c.start();
    const c2 = new JobCoordinator(store, "t", plan, 4);
    await c2.start();
    // The new coordinator reassigns after a worker loss: epoch 2.
    store.removeWorker("w3");
    await tick();
    c2.stop();
    // The old one still believes in the version it read; its next write is refused.
    await c.reportFinished("w1", 1);
    const before = (await store.state("t"))!.value;
    for (const w of ["w1", "w2", "w3"]) await c.reportFinished(w, 1);
    expect((await store.state("t"))!.value).toEqual(before);
    expect((await store.assignment("t"))!.value.epoch).toBe(2);
    expect(events.some((e) => e.kind === "stepped-down")).toBe(true);
  });
});
