// The cluster as users run it: `flowc worker` processes, `flowc submit | status | cancel`, a real
// ZooKeeper (standalone, and a 3-node ensemble) and the TCP data plane. A word count over a 100 MB
// generated file gives exactly the embedded result on 3 workers, also when the coordinator or
// another worker is killed mid-run, or a worker is frozen (SIGSTOP) past its session timeout.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { flowcAsync } from "./helpers/cli.js";
import { writeCorpus } from "./helpers/corpus.js";
import { cluster, startWorker, status, stopWorkers, until, type WorkerProcess } from "./helpers/workers.js";
import { startZooKeeper, type ZkServers } from "./helpers/zk-server.js";

const WORDCOUNT = `
config { partitions: 3 }

source lines: string = file("big.txt", format: "lines")

lines
  |> flatMap(line => split(lower(line), "[^a-z0-9']+"))
  |> filter(w => w != "")
  |> keyBy(w => w)
  |> window(tumbling(1h))
  |> count()
  |> sink file("out", format: "csv")
`;

// Each test starts processes and runs a 100 MB job, on 2 shared cores: generous limits.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

const root = mkdtempSync(join(tmpdir(), "flowc-cluster-proc-"));
const corpus = join(root, "big.txt");
let expected: Map<string, number>;

/** A job directory with the word count program and the shared corpus. */
function jobDir(name: string, program = WORDCOUNT): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "wc.flow"), program);
  if (!existsSync(join(dir, "big.txt"))) symlinkSync(corpus, join(dir, "big.txt"));
  return dir;
}

/** word → count over every published part file (windows of one hour: a run may straddle two). */
function counts(dir: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of readdirSync(dir).filter((x) => /^part-\d+\.csv$/.test(x))) {
    for (const line of readFileSync(join(dir, f), "utf8").split("\n").slice(1)) {
      if (!line) continue;
      const [key, count] = line.split(",");
      m.set(key!, (m.get(key!) ?? 0) + Number(count));
    }
  }
  return m;
}

function staged(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith("."));
}

beforeAll(async () => {
  writeCorpus(corpus, 100_000_000, 7);
  const dir = jobDir("embedded");
  const r = await flowcAsync(["run", "wc.flow", "--quiet"], { cwd: dir });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expected = counts(join(dir, "out"));
  expect(expected.size).toBeGreaterThan(1000);
}, 180_000);

describe("flowc worker and submit on a standalone ZooKeeper", () => {
  let zk: ZkServers;
  let workers: WorkerProcess[] = [];
  beforeAll(async () => {
    zk = await startZooKeeper(1);
  });
  afterAll(async () => {
    await stopWorkers(workers);
    await zk?.stop();
  });

  async function threeWorkers(tag: string): Promise<WorkerProcess[]> {
    await stopWorkers(workers);
    workers = await Promise.all([1, 2, 3].map((i) => startWorker(zk.connectString, `${tag}-w${i}`, { cwd: root })));
    return workers;
  }

  it("3 worker processes give the embedded counts over 100 MB; garbage on their data ports harms nothing", async () => {
    await threeWorkers("clean");
    const dir = jobDir("clean");
    const s = await status(zk.connectString, dir);
    expect(s.workers.map((w) => w.id).sort()).toEqual(["clean-w1", "clean-w2", "clean-w3"]);
    // Unauthenticated bytes: plain garbage, and a huge length prefix, on every worker's data port.
    for (const w of s.workers) {
      for (const bytes of [Buffer.from("GET / HTTP/1.1\r\n\r\n"), Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3])]) {
        await new Promise<void>((resolve) => {
          const c = connect(w.dataPort, w.host, () => c.write(bytes));
          c.on("close", () => resolve());
          c.on("error", () => resolve());
          setTimeout(() => c.destroy(), 3000);
        });
      }
    }
    const r = await cluster(["submit", "wc.flow", "--zookeeper", zk.connectString, "--name", "clean", "--wait"], dir);
    expect(r.stderr).toMatch(/clean finished/);
    expect(r.code).toBe(0);
    expect(counts(join(dir, "out"))).toEqual(expected);
    expect(staged(join(dir, "out"))).toEqual([]);
    for (const w of workers) expect(w.proc.exitCode).toBeNull();
    const text = await cluster(["status", "--zookeeper", zk.connectString], dir);
    // (Once, under load beside a benchmark, status exited 1 here: its stderr says why.)
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/workers \(3\)/);
    expect(text.stdout).toMatch(/clean {2}finished {2}epoch \d+/);
  });

  for (const victim of ["coordinator", "worker"] as const) {
    it(`the ${victim} killed (SIGKILL) mid-run: tasks reassigned under a new epoch, the same counts`, async () => {
      const ws = await threeWorkers(`kill-${victim}`);
      const dir = jobDir(`kill-${victim}`);
      const job = `kill-${victim}`;
      const done = cluster(["submit", "wc.flow", "--zookeeper", zk.connectString, "--name", job, "--wait"], dir);
      const running = await until(zk.connectString, dir, (s) => s.jobs.some((j) => j.name === job && j.state?.status === "running" && j.workers.some((w) => w.recordsIn > 0)));
      const leader = running.jobs.find((j) => j.name === job)!.leader!;
      const target = victim === "coordinator" ? ws.find((w) => w.id === leader)! : ws.find((w) => w.id !== leader)!;
      target.kill("SIGKILL");
      const r = await done;
      expect(r.stderr).toMatch(new RegExp(`${job} finished`));
      expect(r.code).toBe(0);
      const end = (await status(zk.connectString, dir, job)).jobs[0]!;
      expect(end.state!.epoch).toBeGreaterThanOrEqual(2);
      expect(counts(join(dir, "out"))).toEqual(expected);
      expect(staged(join(dir, "out"))).toEqual([]);
    });
  }

  it("a worker frozen with SIGSTOP past its session timeout loses its tasks and is refused when it resumes", async () => {
    const ws = await threeWorkers("zombie");
    const dir = jobDir("zombie");
    const done = cluster(["submit", "wc.flow", "--zookeeper", zk.connectString, "--name", "zombie", "--wait"], dir);
    const running = await until(zk.connectString, dir, (s) => s.jobs.some((j) => j.name === "zombie" && j.state?.status === "running" && j.workers.some((w) => w.recordsIn > 0)));
    const leader = running.jobs.find((j) => j.name === "zombie")!.leader!;
    const zombie = ws.find((w) => w.id === leader)!;
    zombie.kill("SIGSTOP");
    // Its session times out (4 s requested), another worker takes over and reassigns under epoch 2.
    await until(zk.connectString, dir, (s) => (s.jobs.find((j) => j.name === "zombie")?.epoch ?? 0) >= 2 && !s.workers.some((w) => w.id === zombie.id), 30_000);
    zombie.kill("SIGCONT");
    await zombie.waitFor(/ZooKeeper session lost/);
    const r = await done;
    expect(r.code).toBe(0);
    expect(counts(join(dir, "out"))).toEqual(expected);
    expect(staged(join(dir, "out"))).toEqual([]);
    // The zombie published nothing of its stale attempt.
    expect(zombie.log()).not.toMatch(/committed the output of zombie \(epoch 1\)/);
  });

  it("cancels a running job: every task stops and nothing is published", async () => {
    await threeWorkers("cancel");
    const dir = jobDir("cancel", `source n: int = generate(count: 1000000, rate: 500)\n\nn |> keyBy(x => x % 10) |> count() |> sink file("out", format: "jsonl")\n`);
    const r = await cluster(["submit", "wc.flow", "--zookeeper", zk.connectString, "--name", "slow"], dir);
    expect(r.code).toBe(0);
    await until(zk.connectString, dir, (s) => s.jobs.some((j) => j.name === "slow" && j.workers.some((w) => w.state === "running" && w.recordsIn > 0)));
    const c = await cluster(["cancel", "slow", "--zookeeper", zk.connectString], dir);
    expect(c.code).toBe(0);
    expect(c.stderr).toMatch(/slow cancell(ing|ed)/);
    await until(zk.connectString, dir, (s) => s.jobs.some((j) => j.name === "slow" && j.state?.status === "cancelled"));
    const out = join(dir, "out");
    await until(zk.connectString, dir, () => !existsSync(out) || readdirSync(out).length === 0, 10_000);
    const again = await cluster(["cancel", "slow", "--zookeeper", zk.connectString], dir);
    expect(again.stderr).toMatch(/already cancelled/);
  });

  it("explains a missing credential, wrong credentials, an unreachable ZooKeeper and an unknown job without a stack trace", async () => {
    const dir = jobDir("errors");
    const noAuth = await flowcAsync(["status", "--zookeeper", zk.connectString], { cwd: dir });
    expect(noAuth.code).toBe(1);
    expect(noAuth.stderr).toMatch(/FLOW_ZK_AUTH is not set/);
    const wrong = await cluster(["status", "--zookeeper", zk.connectString], dir, { FLOW_ZK_AUTH: "flow:wrong" });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/NO_AUTH/);
    const down = await cluster(["status", "--zookeeper", "127.0.0.1:1"], dir);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach ZooKeeper at 127\.0\.0\.1:1/);
    const bad = await cluster(["status", "--zookeeper", "no port"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/host:port/);
    const unknown = await cluster(["status", "nope", "--zookeeper", zk.connectString], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no job named `nope`/);
    for (const r of [noAuth, wrong, down, bad, unknown]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("flowc worker on a 3-node ZooKeeper ensemble", () => {
  let zk: ZkServers;
  let workers: WorkerProcess[] = [];
  beforeAll(async () => {
    zk = await startZooKeeper(3);
  });
  afterAll(async () => {
    await stopWorkers(workers);
    await zk?.stop();
  });

  it("finishes with the embedded counts when a ZooKeeper server is killed mid-job", async () => {
    workers = await Promise.all([1, 2, 3].map((i) => startWorker(zk.connectString, `ens-w${i}`, { cwd: root, sessionTimeoutMs: 4000 })));
    const dir = jobDir("ensemble");
    const done = cluster(["submit", "wc.flow", "--zookeeper", zk.connectString, "--name", "ensemble", "--wait"], dir);
    await until(zk.connectString, dir, (s) => s.jobs.some((j) => j.name === "ensemble" && j.workers.some((w) => w.recordsIn > 0)));
    zk.kill(0);
    const r = await done;
    expect(r.stderr).toMatch(/ensemble finished/);
    expect(r.code).toBe(0);
    expect(counts(join(dir, "out"))).toEqual(expected);
    expect(staged(join(dir, "out"))).toEqual([]);
  });
});
