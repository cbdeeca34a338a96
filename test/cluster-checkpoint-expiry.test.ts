// Exactly-once of a checkpointed cluster job when a ZooKeeper session expires mid-job. Three
// in-process workers, each with its own session on a real ZooKeeper, run a keyed running aggregate
// (one output line per input record, so every update is visible) from a rate-limited generator into
// a jsonl file sink. Once a checkpoint has completed, the session of (1) a worker that does not
// coordinate the job or (2) the job's coordinator is expired by force (a second client with its
// session id and password connects and closes). The job must move to a new epoch that restores from
// a completed checkpoint, finish, and publish exactly the fault-free (embedded) output: as a
// multiset, per key as a sequence (a replay from the beginning, a lost or a duplicated update would
// show), with no staged file left behind.
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import zookeeper from "node-zookeeper-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile, SourceFile } from "../compiler/index.js";
import type { CoordinatorEvent } from "../runtime/cluster/coordinator.js";
import { InProcessNetwork } from "../runtime/cluster/network.js";
import type { JobState } from "../runtime/cluster/protocol.js";
import { Worker } from "../runtime/cluster/worker.js";
import { ZkClusterStore } from "../runtime/cluster/zk-store.js";
import { ZkSession } from "../runtime/cluster/zk-session.js";
import { Job } from "../runtime/exec/job.js";
import type { PlanModule } from "../runtime/plan.js";
import { multiset, published, sequences, staged } from "./helpers/outputs.js";
import { startZooKeeper, type ZkServers } from "./helpers/zk-server.js";

const AUTH = "flow:expiry-test-secret";
const SESSION_TIMEOUT_MS = 2000;
const IDS = ["w1", "w2", "w3"];

// 28000 records at 4000/s: about 7 s of input, so the expiry (after the first checkpoint, at
// about 0.3 s) lands while the sources still run, even when the server takes several attempts to
// end the session (5 s once, with another test file running beside this one).
const PROGRAM = `
source n: int = generate(count: 28000, rate: 4000)

n
  |> map(x => x % 17)
  |> keyBy(k => k)
  |> aggregate({ n: count(), total: sum(k => k) })
  |> sink file("out/sums", format: "jsonl")
`;

let zk: ZkServers;
let root: string;
let mod: PlanModule;
let want: { lines: Map<string, number>; seq: Map<number, number[]> };


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The first of several reads that succeeds (a session may be in the middle of being replaced). */
async function firstAnswer<T>(reads: (() => Promise<T>)[]): Promise<T> {
  let last: unknown;
  for (let round = 0; round < 20; round++) {
    for (const read of reads) {
      try {
        return await read();
      } catch (e) {
        last = e;
      }
    }
    await sleep(250);
  }
  throw last;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "flowc-ckpt-expiry-"));
  // The fault-free output (the same plan, embedded, without checkpoints) while ZooKeeper starts.
  const embedded = async () => {
    const compiled = await compile(new SourceFile("gen.flow", PROGRAM));
    expect(compiled.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const path = join(root, "gen.plan.mjs");
    writeFileSync(path, compiled.emitted!.js);
    mod = (await import(pathToFileURL(path).href)) as PlanModule;
    const job = new Job(mod, { partitions: 4, baseDir: join(root, "embedded") });
    await job.open();
    await job.run();
    await job.commit();
    const out = join(root, "embedded/out/sums");
    want = { lines: multiset(published(out)), seq: sequences(out) };
  };
  [zk] = await Promise.all([startZooKeeper(1), embedded()]);
  expect(want.seq.size).toBe(17);
  expect([...want.lines.values()].reduce((a, b) => a + b, 0)).toBe(28000);
  expect(staged(join(root, "embedded/out/sums"))).toEqual([]);
}, 60_000);

afterAll(async () => {
  await zk?.stop();
});

interface Run {
  state: JobState | undefined;
  logs: string[];
  events: { worker: string; e: CoordinatorEvent }[];
  out: string;
  victim: string;
  /** The newest checkpoint completed before the expiry. */
  before: number;
  /** The coordinator before the expiry and the one that finished the job. */
  leaders: { before: string; after: string | undefined };
}

/** Expires the session of worker `id`: a twin client with its id and password connects and closes. */
async function expire(sessions: ZkSession[], stores: ZkClusterStore[], id: string, log: (line: string) => void): Promise<boolean> {
  const i = IDS.indexOf(id);
  // Read through the others: the victim's calls hang until its watchdog gives the session up.
  const others = stores.filter((_, j) => j !== i);
  const before = (await firstAnswer(others.map((st) => () => st.workers()))).find((w) => w.id === id)?.session;
  expect(before).toBeTruthy();
  // Tried again if the server has not ended the session yet (the twin and the victim race for it).
  for (let attempt = 0; attempt < 5; attempt++) {
    const c = (sessions[i] as unknown as { client: zookeeper.Client }).client;
    const twin = zookeeper.createClient(zk.connectString, { sessionTimeout: SESSION_TIMEOUT_MS, retries: 0, sessionId: c.getSessionId(), sessionPassword: c.getSessionPassword() } as never);
    // Closed as soon as connected: the victim reconnects within ~200 ms and would take the session back.
    await new Promise<void>((r) => {
      const t = setTimeout(r, 2000);
      twin.once("connected", () => {
        clearTimeout(t);
        twin.close();
        r();
      });
      twin.connect();
    });
    for (let k = 0; k < 20; k++) {
      const w = (await firstAnswer(others.map((st) => () => st.workers()))).find((x) => x.id === id);
      if (w === undefined || w.session !== before) {
        log(`[test] the session of ${id} ended (attempt ${attempt + 1}); its registration is ${w === undefined ? "gone" : "back under a new session"}`);
        return true;
      }
      await sleep(50);
    }
  }
  return false;
}

async function runExpiring(name: string, victimKind: "worker" | "coordinator"): Promise<Run> {
  const dir = join(root, name);
  const net = new InProcessNetwork();
  const logs: string[] = [];
  const events: { worker: string; e: CoordinatorEvent }[] = [];
  const t0 = Date.now();
  const log = (l: string) => {
    logs.push(`${Date.now() - t0} ${l}`);
    if (process.env.FLOW_DEBUG) console.log(logs.at(-1));
  };
  const sessions = await Promise.all(
    IDS.map(async () => {
      const s = new ZkSession({ connect: zk.connectString, auth: AUTH, sessionTimeoutMs: SESSION_TIMEOUT_MS });
      await s.start();
      return s;
    }),
  );
  const stores = sessions.map((s) => new ZkClusterStore(s, `/flow-${name}`));
  await stores[0]!.init();
  const workers = stores.map(
    (store, i) =>
      new Worker(store, {
        record: { id: IDS[i]!, host: "127.0.0.1", dataPort: 9000 + i, slots: 2 },
        loadPlan: async () => mod,
        baseDir: dir,
        log,
        onCoordinatorEvent: (_job, e) => {
          events.push({ worker: IDS[i]!, e });
          if (process.env.FLOW_DEBUG) console.log(Date.now() - t0, `${IDS[i]} coordinator`, JSON.stringify(e));
        },
      }),
  );
  const out = join(dir, "out/sums");
  let victim = "";
  let before = 0;
  const leaders: Run["leaders"] = { before: "", after: undefined };
  let state: JobState | undefined;
  try {
    for (const w of workers) await w.start(net.attach(w.id, w));
    await stores[0]!.submit({
      name: "gen",
      planPath: "(memory)",
      planHash: "h",
      partitions: 4,
      secret: "s",
      submittedAt: Date.now(),
      checkpoint: { intervalMs: 150, dir: join(dir, "state"), retain: 2, maxDeclines: 3 },
    });
    const completed = () => events.filter((x) => x.e.kind === "checkpoint" && x.e.event.kind === "completed").map((x) => (x.e as { event: { id: number } }).event.id);
    for (let i = 0; i < 300 && completed().length === 0; i++) await sleep(20);
    expect(completed().length, "a checkpoint completed before the expiry").toBeGreaterThan(0);
    before = Math.max(...completed());
    leaders.before = (await stores[0]!.leader("gen"))!;
    expect(IDS).toContain(leaders.before);
    victim = victimKind === "coordinator" ? leaders.before : IDS.find((w) => w !== leaders.before)!;
    // The sources must still be running, or there is nothing to recover.
    expect((await stores[0]!.state("gen"))!.value.status).toBe("running");
    log(`[test] expiring the session of ${victim} after checkpoint ${before}`);
    expect(await expire(sessions, stores, victim, log), `the session of ${victim} ended`).toBe(true);
    // Wait for the end (bounded well inside the test's timeout, so a hang fails with the log):
    // read through whichever session answers.
    const victimLast = [...stores.filter((_, j) => IDS[j] !== victim), stores[IDS.indexOf(victim)]!];
    while (Date.now() - t0 < 22_000) {
      state = (await firstAnswer(victimLast.map((st) => () => st.state("gen"))))?.value;
      if (state && (state.status === "finished" || state.status === "failed")) break;
      await sleep(50);
    }
    // The coordinator that finished the job (workers resign from the election once it has). Its
    // event comes once its write of the state has returned, which can be after this test read it.
    const finisher = () => events.find((x) => x.e.kind === "status" && x.e.status === "finished")?.worker;
    for (let i = 0; i < 40 && state?.status === "finished" && finisher() === undefined; i++) await sleep(50);
    leaders.after = finisher();
    // Workers publish the last staged segments once they see the job finished.
    for (let i = 0; i < 60 && (staged(out).length > 0 || !existsSync(out)); i++) await sleep(50);
  } finally {
    for (const w of workers) await w.stop().catch(() => {});
    for (const s of sessions) s.close();
  }
  return { state, logs, events, out, victim, before, leaders };
}

function expectExact(r: Run): void {
  const context = `victim ${r.victim}; log:\n${r.logs.join("\n")}`;
  expect(r.state?.status, context).toBe("finished");
  expect(r.state!.epoch, context).toBeGreaterThanOrEqual(2);
  // The victim noticed that its session had ended and stopped what it ran.
  expect(r.logs.some((l) => l.includes(`[${r.victim}] coordination session lost`)), context).toBe(true);
  // A new epoch started from a completed checkpoint, at least the one completed before the expiry.
  const restores = [...r.logs.join("\n").matchAll(/restoring gen from checkpoint (\d+) \(epoch (\d+)\)/g)].map((m) => ({ id: Number(m[1]), epoch: Number(m[2]) }));
  expect(restores.length, context).toBeGreaterThan(0);
  for (const x of restores) {
    expect(x.id, context).toBeGreaterThanOrEqual(r.before);
    expect(x.epoch, context).toBeGreaterThanOrEqual(2);
  }
  // Every worker that ran tasks of the last epoch restored (none started over from the beginning).
  const last = r.state!.epoch;
  const running = new Set([...r.logs.join("\n").matchAll(new RegExp(`\\[(w\\d)\\] running .* of gen \\(epoch ${last}\\)`, "g"))].map((m) => m[1]));
  const restored = new Set([...r.logs.join("\n").matchAll(new RegExp(`\\[(w\\d)\\] restoring gen from checkpoint \\d+ \\(epoch ${last}\\)`, "g"))].map((m) => m[1]));
  expect(running.size, context).toBeGreaterThan(0);
  expect([...restored].sort(), context).toEqual([...running].sort());
  // The output: exactly the fault-free run's.
  expect(readdirSync(r.out).filter((f) => !f.startsWith(".")).sort(), context).toEqual(["part-0.jsonl", "part-1.jsonl", "part-2.jsonl", "part-3.jsonl"]);
  const seq = sequences(r.out);
  expect([...seq.keys()].sort((a, b) => a - b), context).toEqual([...want.seq.keys()].sort((a, b) => a - b));
  for (const [k, s] of want.seq) expect(seq.get(k), `key ${k}; ${context}`).toEqual(s);
  expect(multiset(published(r.out)), context).toEqual(want.lines);
  expect(staged(r.out), context).toEqual([]);
}

describe("a checkpointed cluster job whose ZooKeeper session expires mid-job", () => {
  it("a worker that does not coordinate: its tasks move to a new epoch restored from the latest checkpoint; the output is exact", async () => {
    const r = await runExpiring("worker", "worker");
    expectExact(r);
    // The coordinator kept its job; it assigned the new epoch.
    expect(r.leaders.after).toBe(r.leaders.before);
    expect(r.events.some((x) => x.worker === r.leaders.before && x.e.kind === "assigned" && x.e.epoch >= 2)).toBe(true);
  }, 32_000);

  it("the coordinator: another worker takes over, restores from the latest checkpoint; the output is exact", async () => {
    const r = await runExpiring("coordinator", "coordinator");
    expectExact(r);
    // Leadership moved: the victim re-joined the election behind the others.
    expect(r.leaders.after).toBeDefined();
    expect(r.leaders.after).not.toBe(r.victim);
    expect(r.logs.some((l) => l.includes(`[${r.leaders.after}] coordinating job gen`))).toBe(true);
    expect(r.events.some((x) => x.worker !== r.victim && x.e.kind === "assigned" && x.e.epoch >= 2)).toBe(true);
    // Checkpoints went on under the new coordinator.
    expect(r.events.some((x) => x.worker !== r.victim && x.e.kind === "checkpoint" && x.e.event.kind === "completed" && x.e.event.epoch >= 2)).toBe(true);
  }, 32_000);
});
