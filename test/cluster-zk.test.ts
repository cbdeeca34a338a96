// The job protocol on a real ZooKeeper: three workers, each with its own session, elect a
// coordinator, get tasks under an epoch and finish the job with the embedded result; a worker's
// session expiring mid-run (forced, from a second client with its session id and password) moves
// its tasks under a new epoch; the digest ACL refuses unauthenticated clients.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import zookeeper from "node-zookeeper-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile, SourceFile } from "../compiler/index.js";
import { InProcessNetwork } from "../runtime/cluster/network.js";
import { Worker } from "../runtime/cluster/worker.js";
import { ZkClusterStore } from "../runtime/cluster/zk-store.js";
import { ZkSession } from "../runtime/cluster/zk-session.js";
import { Job } from "../runtime/exec/job.js";
import type { PlanModule } from "../runtime/plan.js";
import { startZooKeeper, type ZkServers } from "./helpers/zk-server.js";

const AUTH = "flow:test-secret";
let zk: ZkServers;
beforeAll(async () => {
  zk = await startZooKeeper(1);
});
afterAll(async () => {
  await zk?.stop();
});

async function session(): Promise<ZkSession> {
  const s = new ZkSession({ connect: zk.connectString, auth: AUTH, sessionTimeoutMs: 2000 });
  await s.start();
  return s;
}

const PROGRAM = `
source n: int = generate(count: 3000, rate: RATE)

n
  |> map(x => x % 17)
  |> keyBy(k => k)
  |> aggregate({ n: count(), total: sum(k => k) })
  |> sink file("out/sums", format: "jsonl")
`;

async function load(dir: string, rate: number): Promise<PlanModule> {
  const r = await compile(new SourceFile("gen.flow", PROGRAM.replace("RATE", String(rate))));
  const path = join(dir, `gen-${rate}.plan.mjs`);
  writeFileSync(path, r.emitted!.js);
  return (await import(pathToFileURL(path).href)) as PlanModule;
}

function finals(dir: string): [number, number, number][] {
  const m = new Map<number, [number, number, number]>();
  for (const f of readdirSync(dir).filter((x) => x.startsWith("part-")))
    for (const l of readFileSync(join(dir, f), "utf8").split("\n").filter(Boolean)) {
      const r = JSON.parse(l) as { key: number; n: number; total: number };
      if ((m.get(r.key)?.[1] ?? -1) < r.n) m.set(r.key, [r.key, r.n, r.total]);
    }
  return [...m.values()].sort((a, b) => a[0] - b[0]);
}

async function runCluster(dir: string, mod: PlanModule, root: string, during?: (ctx: { sessions: ZkSession[]; stores: ZkClusterStore[] }) => Promise<void>) {
  const net = new InProcessNetwork();
  const sessions = await Promise.all([0, 1, 2].map(() => session()));
  const stores = sessions.map((s) => new ZkClusterStore(s, root));
  await stores[0]!.init();
  const workers = stores.map(
    (store, i) => new Worker(store, { record: { id: `w${i + 1}`, host: "127.0.0.1", dataPort: 1, slots: 2 }, loadPlan: async () => mod, baseDir: join(dir, "cluster"), ...(process.env.FLOW_DEBUG ? { log: (l: string) => console.log(Date.now() % 100000, l), onCoordinatorEvent: (_j: string, e: unknown) => console.log(Date.now() % 100000, `w${i + 1} coordinator`, JSON.stringify(e)) } : {}) }),
  );
  for (const w of workers) await w.start(net.attach(w.id, w));
  await stores[0]!.submit({ name: "gen", planPath: "(memory)", planHash: "", partitions: 4, secret: "s", submittedAt: Date.now() });
  if (during) await during({ sessions, stores });
  let state;
  for (let i = 0; i < 600; i++) {
    // Any worker's session may be in the middle of being replaced (expired on purpose, or by its
    // watchdog on a loaded machine): read through whichever answers.
    state = await firstAnswer(stores.map((st) => () => st.state("gen").then((v) => v?.value)));
    if (state?.status === "finished" || state?.status === "failed") break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const out = join(dir, "cluster/out/sums");
  for (let i = 0; i < 100 && readdirSync(out).filter((f) => f.startsWith("part-")).length < 4; i++) await new Promise((r) => setTimeout(r, 50));
  for (const w of workers) await w.stop();
  for (const s of sessions) s.close();
  return state!;
}

/** The first of several reads that succeeds (tried in order, then again after a pause). */
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
    await new Promise((r) => setTimeout(r, 250));
  }
  throw last;
}

async function embedded(dir: string, mod: PlanModule) {
  const job = new Job(mod, { partitions: 4, baseDir: join(dir, "embedded") });
  await job.open();
  await job.run();
  return finals(join(dir, "embedded/out/sums"));
}

describe("cluster on ZooKeeper", () => {
  it("three workers finish a job with the embedded result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-zk-cluster-"));
    const mod = await load(dir, 0);
    const state = await runCluster(dir, mod, "/flow-a");
    expect(state.status).toBe("finished");
    expect(finals(join(dir, "cluster/out/sums"))).toEqual(await embedded(dir, mod));
  });

  for (const victim of ["worker", "coordinator"] as const) {
    it(`a ${victim} whose session is expired mid-run loses its tasks to a new epoch; the result is unchanged`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "flowc-zk-cluster-"));
      const mod = await load(dir, 500);
      const state = await runCluster(dir, mod, `/flow-b-${victim}`, async ({ sessions, stores }) => {
        await new Promise((r) => setTimeout(r, 300));
        const a = (await stores[0]!.assignment("gen"))!.value;
        expect(a.epoch).toBe(1);
        const leader = (await stores[0]!.leader("gen"))!;
        const id = victim === "coordinator" ? leader : ["w1", "w2", "w3"].find((w) => w !== leader)!;
        const i = Number(id.slice(1)) - 1;
        // Expire its session: a second client with its session id and password connects (the server
        // drops the victim's connection for it) and closes the session. The victim's client holds its
        // reconnect until then: reconnecting first would take the session back and drop the close.
        const before = (await stores[0]!.workers()).find((w) => w.id === id)!.session;
        let gone = false;
        for (let attempt = 0; attempt < 3 && !gone; attempt++) {
          const c = (sessions[i] as unknown as { client: zookeeper.Client }).client;
          const cm = (c as unknown as { connectionManager: { connect(): void } }).connectionManager;
          const reconnect = cm.connect;
          let held = false;
          cm.connect = () => {
            held = true;
          };
          const twin = zookeeper.createClient(zk.connectString, { sessionTimeout: 2000, retries: 0, sessionId: c.getSessionId(), sessionPassword: c.getSessionPassword() } as never);
          await new Promise<void>((r) => {
            twin.once("connected", () => {
              twin.once("disconnected", () => r());
              twin.close();
            });
            twin.connect();
            setTimeout(r, 5000);
          });
          cm.connect = reconnect;
          if (held) reconnect.call(cm);
          for (let k = 0; k < 100 && !gone; k++) {
            const w = (await firstAnswer(stores.map((st) => () => st.workers()))).find((x) => x.id === id);
            gone = w === undefined || w.session !== before;
            if (!gone) await new Promise((r) => setTimeout(r, 50));
          }
        }
        expect(gone).toBe(true);
        if (victim === "coordinator") {
          // Leadership moved, or the same worker won again under its new session.
          for (let k = 0; k < 100 && (await firstAnswer(stores.map((st) => () => st.leader("gen")))) === undefined; k++) await new Promise((r) => setTimeout(r, 50));
        }
      });
      expect(state.status).toBe("finished");
      expect(state.epoch).toBeGreaterThanOrEqual(2);
      expect(finals(join(dir, "cluster/out/sums"))).toEqual(await embedded(dir, mod));
    });
  }

  it("refuses a client without the project's credentials (NO_AUTH) on reads and writes", async () => {
    const s = await session();
    const store = new ZkClusterStore(s, "/flow-c");
    await store.init();
    await store.submit({ name: "j", planPath: "p", planHash: "h", partitions: 1, secret: "top-secret", submittedAt: 0 });
    const anon = zookeeper.createClient(zk.connectString, { retries: 0 });
    await new Promise<void>((r) => {
      anon.once("connected", () => r());
      anon.connect();
    });
    const read = await new Promise<string>((r) => anon.getData("/flow-c/jobs/j", (e) => r(e ? (e as { getName(): string }).getName() : "OK")));
    const write = await new Promise<string>((r) => anon.setData("/flow-c/jobs/j/state", Buffer.from("{}"), (e) => r(e ? (e as { getName(): string }).getName() : "OK")));
    expect(read).toBe("NO_AUTH");
    expect(write).toBe("NO_AUTH");
    anon.close();
    s.close();
  });
});
