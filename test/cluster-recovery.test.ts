// Exactly-once on the cluster: `flowc worker` processes on a real ZooKeeper, jobs submitted with
// checkpoints, and faults injected while they run. After each fault the committed output is
// compared with the fault-free (embedded) run's: as a multiset, per key as a sequence (a replay
// from the beginning, a lost or a duplicated update would show), and no staged file may be left.
// Trials are seeded: the moment and the victim of a kill come from a PRNG, printed on failure.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { flowcAsync, type CliResult } from "./helpers/cli.js";
import { writeCorpus } from "./helpers/corpus.js";
import { multiset, multisetDiff, published, sequences, staged, wordCounts } from "./helpers/outputs.js";
import { cluster, startWorker, stopWorkers, type WorkerProcess } from "./helpers/workers.js";
import { startZooKeeper, type ZkServers } from "./helpers/zk-server.js";

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/** A keyed running aggregate: one output record per input record, so every update is visible. */
const GEN = `
config { partitions: 3 }

source n: int = generate(count: 24000, rate: 6000)

n
  |> map(x => x % 23)
  |> keyBy(k => k)
  |> aggregate({ n: count(), total: sum(k => k) })
  |> sink file("out", format: "jsonl")
`;

const WORDCOUNT = `
config { partitions: 3 }

source lines: string = file("corpus.txt", format: "lines")

lines
  |> flatMap(line => split(lower(line), "[^a-z0-9']+"))
  |> filter(w => w != "")
  |> keyBy(w => w)
  |> window(tumbling(1h))
  |> count()
  |> sink file("out", format: "csv")
`;

const root = mkdtempSync(join(tmpdir(), "flowc-cluster-recovery-"));
let zk: ZkServers;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function jobDir(name: string, program: string, files: Record<string, string> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "job.flow"), program);
  for (const [f, target] of Object.entries(files)) if (!existsSync(join(dir, f))) symlinkSync(target, join(dir, f));
  return dir;
}


/** Every fleet started: a test that timed out is cleaned up after it (its workers would join the next test's jobs). */
const fleets = new Set<Fleet>();

/** Workers of one test; a worker that dies is replaced (without the fault's environment) when `restart`. */
class Fleet {
  readonly all: WorkerProcess[] = [];
  private readonly current = new Map<string, WorkerProcess>();
  restart = true;
  /** Runs when a worker has died, before it is restarted. */
  onExit: (w: WorkerProcess) => void = () => {};
  private stopped = false;

  constructor(private readonly cwd: string) {
    fleets.add(this);
  }

  async start(ids: string[], env: Record<string, string> = {}): Promise<void> {
    await Promise.all(ids.map((id) => this.spawn(id, env)));
  }

  private async spawn(id: string, env: Record<string, string>): Promise<void> {
    const w = await startWorker(zk.connectString, id, { cwd: this.cwd, sessionTimeoutMs: 4000, env });
    this.all.push(w);
    this.current.set(id, w);
    void w.exited.then(() => {
      if (!this.stopped) this.onExit(w);
      if (this.stopped || !this.restart || this.current.get(id) !== w) return;
      void this.spawn(id, {}).catch(() => {});
    });
  }

  get(id: string): WorkerProcess {
    return this.current.get(id)!;
  }

  /** Everything every worker (also dead ones) logged. */
  log(): string {
    return this.all.map((w) => w.log()).join("\n");
  }

  async waitLog(re: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = this.log().match(re);
      if (m) return m;
      if (Date.now() > end) throw new Error(`no ${re} within ${ms} ms; logs:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The worker leading `job`, from the coordinator's log line. */
  leader(job: string): string {
    const lines = this.log().match(new RegExp(`\\[([^\\]]+)\\] coordinating job ${job}`, "g")) ?? [];
    return /\[([^\]]+)\]/.exec(lines.at(-1) ?? "")?.[1] ?? "";
  }

  async stop(): Promise<void> {
    fleets.delete(this);
    this.stopped = true;
    await stopWorkers([...this.current.values()]);
  }
}

/** Submits with checkpoints, lets `fault` act, waits for the end and for every staged file to be published. */
async function runJob(dir: string, name: string, fleet: Fleet, fault: () => Promise<void>, extra: string[] = []): Promise<{ status: string; out: string }> {
  const submitted = cluster(["submit", "job.flow", "--zookeeper", zk.connectString, "--name", name, "--checkpoint-interval", "300ms", "--wait", ...extra], dir);
  await fault();
  // A job that does not end: fail with what the workers logged, well before the test's timeout.
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    submitted,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`job ${name} did not end within 120 s; logs:\n${fleet.log()}`)), 120_000);
    }),
  ]).finally(() => clearTimeout(timer));
  const out = join(dir, "out");
  // Workers publish the last staged segments once they see the job finished.
  for (let i = 0; i < 100 && staged(out).length > 0; i++) await new Promise((res) => setTimeout(res, 100));
  return { status: r.code === 0 ? "finished" : `exit ${r.code}: ${r.stderr}`, out };
}

const corpus = join(root, "corpus.txt");
let genExpected: { lines: Map<string, number>; seq: Map<number, number[]> };
let wcExpected: Map<string, number>;

beforeAll(async () => {
  zk = await startZooKeeper(1);
  writeCorpus(corpus, 12_000_000, 11);
  const gen = jobDir("gen-embedded", GEN);
  const wc = jobDir("wc-embedded", WORDCOUNT, { "corpus.txt": corpus });
  const [a, b] = await Promise.all([flowcAsync(["run", "job.flow", "--quiet"], { cwd: gen }), flowcAsync(["run", "job.flow", "--quiet"], { cwd: wc })]);
  expect(a.stderr + b.stderr).toBe("");
  genExpected = { lines: multiset(published(join(gen, "out"))), seq: sequences(join(gen, "out")) };
  wcExpected = wordCounts(join(wc, "out"));
  expect(genExpected.seq.size).toBe(23);
  expect(wcExpected.size).toBeGreaterThan(1000);
});

afterEach(async (ctx) => {
  if (fleets.size === 0) return;
  // A test that failed or timed out left workers (and a running job) behind: stop both, so that
  // they do not take part in the next test's jobs.
  const left = [...fleets];
  for (const f of left) await f.stop();
  const st = await cluster(["status", "--zookeeper", zk.connectString, "--format", "json"], root);
  for (const j of (JSON.parse(st.stdout || "{}") as { jobs?: { name: string; state?: { status: string } }[] }).jobs ?? []) {
    if (j.state && !["finished", "failed", "cancelled"].includes(j.state.status)) await cluster(["cancel", j.name, "--zookeeper", zk.connectString], root);
  }
  if (ctx.task.result?.state !== "fail") throw new Error(`${left.length} fleet(s) were still running after the test`);
});

afterAll(async () => {
  await zk?.stop();
});

function expectGenExact(out: string, context: string): void {
  const seq = sequences(out);
  for (const [k, want] of genExpected.seq) expect(seq.get(k), `${context}: key ${k}`).toEqual(want);
  expect(multiset(published(out)), context).toEqual(genExpected.lines);
  expect(staged(out), context).toEqual([]);
}

describe("kill -9 of a worker at a random moment", () => {
  for (const seed of [1, 2]) {
    it(`seed ${seed}: the running aggregate's output equals the fault-free run, per key and as a multiset`, async () => {
      const rng = mulberry32(seed);
      const name = `gen-kill-${seed}`;
      const dir = jobDir(name, GEN);
      const fleet = new Fleet(dir);
      await fleet.start(["a", "b", "c"]);
      let victim = "";
      try {
        const r = await runJob(dir, name, fleet, async () => {
          await fleet.waitLog(new RegExp(`coordinator of ${name}: checkpoint \\d+ completed`));
          await new Promise((res) => setTimeout(res, Math.floor(rng() * 1500)));
          victim = ["a", "b", "c"][Math.floor(rng() * 3)]!;
          fleet.get(victim).kill("SIGKILL");
        });
        const context = `seed ${seed}, victim ${victim}`;
        expect(r.status, context).toBe("finished");
        expect(fleet.log(), context).toMatch(new RegExp(`restoring ${name} from checkpoint \\d+ \\(epoch [2-9]\\)`));
        expectGenExact(r.out, context);
      } finally {
        await fleet.stop();
      }
    });
  }

  it("the file word count: a worker killed after a checkpoint, the counts equal the embedded run's", async () => {
    const name = "wc-kill";
    const dir = jobDir(name, WORDCOUNT, { "corpus.txt": corpus });
    const fleet = new Fleet(dir);
    await fleet.start(["a", "b", "c"]);
    try {
      const r = await runJob(dir, name, fleet, async () => {
        await fleet.waitLog(new RegExp(`coordinator of ${name}: checkpoint \\d+ completed`));
        const leader = fleet.leader(name);
        fleet.get(["a", "b", "c"].find((w) => w !== leader)!).kill("SIGKILL");
      }, ["--checkpoint-interval", "50ms"]);
      expect(r.status).toBe("finished");
      expect(fleet.log()).toMatch(new RegExp(`restoring ${name} from checkpoint \\d+`));
      expect(wordCounts(r.out)).toEqual(wcExpected);
      expect(staged(r.out)).toEqual([]);
    } finally {
      await fleet.stop();
    }
  });
});

describe("the coordinator killed between barrier injection and the last acknowledgement", () => {
  it("the next coordinator goes on from the latest completed checkpoint: exact output", async () => {
    const name = "gen-coordinator";
    const dir = jobDir(name, GEN);
    const fleet = new Fleet(dir);
    // Only a coordinator gets there, at checkpoint 3; the one that takes over (if it is one of the
    // first workers) continues with checkpoint 3 and dies there too, until a restarted worker leads.
    await fleet.start(["a", "b", "c"], { FLOW_TEST_CRASH_AT: "after-trigger:3" });
    try {
      const r = await runJob(dir, name, fleet, async () => {});
      expect(r.status).toBe("finished");
      expect(fleet.all.filter((w) => w.proc.signalCode === "SIGKILL").length).toBeGreaterThanOrEqual(1);
      expect(fleet.log()).not.toMatch(new RegExp(`coordinator of ${name}: checkpoint 3 completed \\(epoch 1\\)`));
      expect(fleet.log()).toMatch(new RegExp(`restoring ${name} from checkpoint 2 \\(epoch 2\\)`));
      expectGenExact(r.out, "coordinator crash");
    } finally {
      await fleet.stop();
    }
  });
});

describe("a crash at each step between checkpoint complete and every sink committed", () => {
  for (const step of ["after-manifest", "after-pointer", "after-first-commit", "mid-commit", "after-commits"]) {
    it(`${step}: the job finishes on restarted workers with exact output`, async () => {
      const name = `gen-${step}`;
      const dir = jobDir(name, GEN);
      const fleet = new Fleet(dir);
      await fleet.start(["a", "b", "c"], { FLOW_TEST_CRASH_AT: `${step}:2` });
      try {
        const r = await runJob(dir, name, fleet, async () => {});
        expect(r.status).toBe("finished");
        expect(fleet.all.some((w) => w.proc.signalCode === "SIGKILL"), "a worker crashed").toBe(true);
        // The pointer moved before the crash in every step but after-manifest.
        expect(fleet.log()).toMatch(new RegExp(`restoring ${name} from checkpoint ${step === "after-manifest" ? 1 : 2}`));
        expectGenExact(r.out, step);
      } finally {
        await fleet.stop();
      }
    });
  }
});

describe("a zombie worker", () => {
  // Resumed while the job still runs (it learns of the new epoch), or only once the job has finished
  // (it learns of the end first): either way what it staged while frozen is removed, never published.
  for (const resume of ["after the recovery", "after the job finished"] as const) {
    it(`frozen (SIGSTOP) past its session timeout, resumed ${resume}: it commits nothing, the output is exact`, async () => {
      const name = `gen-zombie-${resume === "after the recovery" ? 1 : 2}`;
      const dir = jobDir(name, GEN);
      const fleet = new Fleet(dir);
      fleet.restart = false;
      await fleet.start(["a", "b", "c"]);
      try {
        let zombie = "";
        const r = await runJob(dir, name, fleet, async () => {
          await fleet.waitLog(new RegExp(`coordinator of ${name}: checkpoint \\d+ completed`));
          const leader = fleet.leader(name);
          zombie = ["a", "b", "c"].find((w) => w !== leader)!;
          fleet.get(zombie).kill("SIGSTOP");
          await fleet.waitLog(new RegExp(`restoring ${name} from checkpoint \\d+ \\(epoch 2\\)`), 30_000);
          if (resume === "after the recovery") await new Promise((res) => setTimeout(res, 500));
          else await fleet.waitLog(new RegExp(`committed the output of ${name} \\(epoch [2-9]\\)`), 90_000);
          fleet.get(zombie).kill("SIGCONT");
        });
        expect(r.status).toBe("finished");
        await fleet.get(zombie).waitFor(/session (lost|expired)/i, 30_000);
        // The zombie cleans up once it has read the job's state again.
        for (let i = 0; i < 100 && staged(r.out).length > 0; i++) await new Promise((res) => setTimeout(res, 100));
        expectGenExact(r.out, `zombie ${zombie}`);
      } finally {
        await fleet.stop();
      }
    });
  }
});

describe("ZooKeeper restarted mid-job", () => {
  it("the job goes on (or recovers) and the output is exact", async () => {
    const name = "gen-zk-restart";
    const dir = jobDir(name, GEN);
    const fleet = new Fleet(dir);
    await fleet.start(["a", "b", "c"]);
    try {
      // Submitted without --wait: the state is read with fresh `flowc status` processes (a known
      // problem: `submit --wait` itself has hung past a ZooKeeper restart under load).
      const submitted = await cluster(["submit", "job.flow", "--zookeeper", zk.connectString, "--name", name, "--checkpoint-interval", "300ms"], dir);
      expect(submitted.code, submitted.stderr).toBe(0);
      await fleet.waitLog(new RegExp(`coordinator of ${name}: checkpoint \\d+ completed`));
      await zk.restart(0);
      let state = "";
      for (const end = Date.now() + 120_000; Date.now() < end; await new Promise((r) => setTimeout(r, 500))) {
        const st = await cluster(["status", name, "--zookeeper", zk.connectString, "--format", "json"], dir);
        if (st.code !== 0) continue;
        state = (JSON.parse(st.stdout) as { jobs: { state?: { status: string } }[] }).jobs[0]?.state?.status ?? "";
        if (["finished", "failed", "cancelled"].includes(state)) break;
      }
      expect(state, fleet.log()).toBe("finished");
      const out = join(dir, "out");
      for (let i = 0; i < 100 && staged(out).length > 0; i++) await new Promise((res) => setTimeout(res, 100));
      expectGenExact(out, "zk restart");
    } finally {
      await fleet.stop();
    }
  });
});

describe("a socket word count", () => {
  it("the worker reading the socket killed: the new one replays its write-ahead log and goes on; exact counts", async () => {
    const n = 20000;
    const text = Array.from({ length: n }, (_, i) => `w${i % 37}\n`).join("");
    let connections = 0;
    let sent = 0;
    const open: Socket[] = [];
    const server = createServer((sock) => {
      open.push(sock);
      sock.on("error", () => {});
      if (connections++ === 0) {
        // Paced and never ended: the reader is killed while it reads.
        const t = setInterval(() => {
          if (sent >= text.length || sock.destroyed) return clearInterval(t);
          sock.write(text.slice(sent, (sent += 400)));
        }, 20);
      } else {
        // A sender that can replay: from the first byte the dead reader had not logged.
        sock.end(text.slice(resumeAt()));
      }
    });
    let walDir = "";
    // The newest epoch's log: each attempt of the source logs into its own (sources/<task>.e<epoch>).
    const resumeAt = () => {
      const d = readdirSync(walDir).sort((a, b) => Number(/\.e(\d+)$/.exec(b)?.[1] ?? 0) - Number(/\.e(\d+)$/.exec(a)?.[1] ?? 0))[0]!;
      return readFileSync(join(walDir, d, "wal")).length;
    };
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const name = "socket-wc";
    const dir = jobDir(name, `config { partitions: 3 }\n\nsource words: string = socket("127.0.0.1", ${port})\n\nwords\n  |> keyBy(w => w)\n  |> count()\n  |> sink file("out", format: "csv")\n`);
    walDir = join(dir, ".flow-state", name, "sources");
    const fleet = new Fleet(dir);
    fleet.restart = false;
    await fleet.start(["a", "b", "c"]);
    try {
      const r = await runJob(dir, name, fleet, async () => {
        await fleet.waitLog(new RegExp(`coordinator of ${name}: checkpoint [3-9] completed`));
        // The worker running the source (the single-instance task): its log names it.
        const owner = /\[([^\]]+)\] running [^\n]*s:/.exec(fleet.log())?.[1];
        expect(owner).toBeDefined();
        fleet.get(owner!).kill("SIGKILL");
      });
      expect(r.status).toBe("finished");
      expect(connections).toBe(2);
      // count() emits a running count per word: its last value per word is the total.
      const last = new Map<string, number>();
      for (const l of published(r.out)) {
        const [w, c] = l.split(",");
        last.set(w!, Math.max(last.get(w!) ?? 0, Number(c)));
      }
      const counts = multiset(published(r.out));
      for (let k = 0; k < 37; k++) {
        const want = Math.floor(n / 37) + (k < n % 37 ? 1 : 0);
        expect(last.get(`w${k}`), `w${k}`).toBe(want);
        // Every running count 1..want exactly once: nothing replayed twice into the output.
        for (let c = 1; c <= want; c++) expect(counts.get(`w${k},${c}`), `w${k},${c}`).toBe(1);
      }
      expect(staged(r.out)).toEqual([]);
    } finally {
      await fleet.stop();
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe("savepoints on the cluster", () => {
  it("`flowc savepoint JOB` while it runs, then `submit --from` it with 4 partitions instead of 3: the output is rewound to the savepoint and comes out exact", async () => {
    const name = "gen-savepoint";
    const dir = jobDir(name, GEN);
    const fleet = new Fleet(dir);
    await fleet.start(["a", "b", "c"]);
    try {
      let taken: CliResult | undefined;
      const first = await runJob(dir, name, fleet, async () => {
        await fleet.waitLog(new RegExp(`coordinator of ${name}: checkpoint \\d+ completed`));
        taken = await cluster(["savepoint", name, "--zookeeper", zk.connectString, "-o", "sp"], dir);
      });
      expect(taken!.stderr).toMatch(/^savepoint of job at checkpoint \d+ \(3 partitions\) written to .*sp\nstart from it with: flowc submit FILE\.flow --name gen-savepoint --from .*sp\n$/);
      expect(taken!.code).toBe(0);
      const id = /checkpoint (\d+)/.exec(taken!.stderr)![1];
      expect(first.status).toBe("finished");
      expectGenExact(first.out, "the job savepointed");

      // Restored into 4 partitions: the key groups spread over one more.
      const again = await runJob(dir, `${name}-2`, fleet, async () => {}, ["--from", "sp", "--partitions", "4"]);
      expect(again.status).toBe("finished");
      expect(fleet.log()).toMatch(new RegExp(`restoring ${name}-2 from the savepoint .*sp \\(checkpoint ${id}, epoch 1\\)`));
      expect(fleet.log()).not.toMatch(new RegExp(`${name}-2 from checkpoint`));
      expect(readdirSync(again.out).filter((f) => f.startsWith("part-")).sort()).toEqual(["part-0.jsonl", "part-1.jsonl", "part-2.jsonl", "part-3.jsonl"]);
      expectGenExact(again.out, "restored from the savepoint into 4 partitions");

      // Mistakes: an unknown job, a damaged savepoint, --from without checkpoints.
      const unknown = await cluster(["savepoint", "nope", "--zookeeper", zk.connectString], dir);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("no job named `nope` in the cluster");
      const noCheckpoints = await cluster(["submit", "job.flow", "--zookeeper", zk.connectString, "--name", "gen-sp-x", "--from", "sp", "--checkpoint-interval", "0"], dir);
      expect(noCheckpoints.code).toBe(2);
      expect(noCheckpoints.stderr).toContain("--from needs checkpoints");
      writeFileSync(join(dir, "sp", "manifest.json"), "{}");
      const damaged = await cluster(["submit", "job.flow", "--zookeeper", zk.connectString, "--name", "gen-sp-y", "--from", "sp", "--checkpoint-interval", "300ms"], dir);
      expect(damaged.code).toBe(1);
      expect(damaged.stderr).toContain("is damaged and cannot be used: the manifest does not match its checksum");
      for (const r of [unknown, noCheckpoints, damaged]) expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await fleet.stop();
    }
  });
});

describe("1% malformed records and a kill in the middle", () => {
  it("each bad record is reported exactly once over the crash and the recovery; the good output is exact", async () => {
    const name = "bad";
    const lines: string[] = [];
    const bad: number[] = [];
    const perKey = new Array<number>(23).fill(0);
    const rng = mulberry32(7);
    for (let i = 0; i < 400_000; i++) {
      if (rng() < 0.01) {
        bad.push(i + 1);
        lines.push(i % 2 === 0 ? `{"k": ${i % 23}, "v": "not an int"}` : `{broken ${i}`);
      } else {
        lines.push(JSON.stringify({ k: i % 23, v: i }));
        perKey[i % 23]!++;
      }
    }
    const dir = jobDir(name, `config { partitions: 3 }\n\nsource r: { k: int, v: int } = file("in.jsonl", format: "jsonl")\n\nr\n  |> keyBy(x => x.k)\n  |> count()\n  |> sink file("out", format: "jsonl")\n`);
    writeFileSync(join(dir, "in.jsonl"), lines.join("\n") + "\n");
    const fleet = new Fleet(dir);
    // Every worker dies once it has committed checkpoint 1 (the source is well into the file and
    // past the checkpoint's offset by then); the restarted ones go on from that checkpoint.
    await fleet.start(["a", "b", "c"], { FLOW_TEST_CRASH_AT: "after-commits:1" });
    try {
      const r = await runJob(dir, name, fleet, async () => {}, ["--checkpoint-interval", "40ms", "--max-problems", "100000"]);
      expect(r.status).toBe("finished");
      expect(fleet.all.filter((w) => w.proc.signalCode === "SIGKILL").length, "the workers crashed").toBe(3);
      expect(fleet.log()).toMatch(new RegExp(`restoring ${name} from checkpoint 1`));
      const reported = (log: string) => [...log.matchAll(/bad: bad record at in\.jsonl:(\d+) /g)].map((m) => Number(m[1]));
      // Reported before the crash (the dead worker, and the others before they restored) and after it.
      let before = 0;
      let after = 0;
      for (const w of fleet.all) {
        const log = w.log();
        const at = log.search(new RegExp(`restoring ${name} from checkpoint`));
        before += reported(at < 0 ? log : log.slice(0, at)).length;
        after += reported(at < 0 ? "" : log.slice(at)).length;
      }
      expect(before, "bad records reported before the crash").toBeGreaterThan(0);
      expect(after, "bad records reported after the recovery").toBeGreaterThan(0);
      const all = reported(fleet.log());
      const twice = all.filter((x, i) => all.indexOf(x) !== i);
      const missing = bad.filter((x) => !all.includes(x));
      expect({ twice: twice.slice(0, 20), missing: missing.slice(0, 20), extra: all.filter((x) => !bad.includes(x)).slice(0, 20) }).toEqual({ twice: [], missing: [], extra: [] });
      expect(all.length).toBe(bad.length);
      const counts = new Map<number, number[]>();
      for (const l of published(r.out)) {
        const { key, count } = JSON.parse(l) as { key: number; count: number };
        const list = counts.get(key) ?? [];
        list.push(count);
        counts.set(key, list);
      }
      for (let k = 0; k < 23; k++) {
        // count() emits 1, 2, …, n once each for a key: nothing lost, nothing twice.
        const got = (counts.get(k) ?? []).sort((x, y) => x - y);
        expect(got.length, `key ${k}`).toBe(perKey[k]);
        expect(got.every((c, i) => c === i + 1), `key ${k}: the counts 1..${perKey[k]} once each`).toBe(true);
      }
      expect(staged(r.out)).toEqual([]);
    } finally {
      await fleet.stop();
    }
  });
});

describe("a damaged latest checkpoint", () => {
  it("a truncated state file of the latest checkpoint is detected and never used: the previous one is, and the output is exact", async () => {
    const name = "gen-damaged";
    const dir = jobDir(name, GEN);
    const fleet = new Fleet(dir);
    let damaged = "";
    // Every worker dies once it has committed checkpoint 3; before they come back, a state file of
    // checkpoint 3 loses its end (as a disk that lost a write would leave it).
    fleet.onExit = () => {
      if (damaged) return;
      const chk = join(dir, ".flow-state", name, "chk-3-e1");
      const file = readdirSync(chk).find((f) => /^[^.]+\.\d+\.json$/.test(f) && f !== "manifest.json");
      if (!file) return;
      truncateSync(join(chk, file), 3);
      damaged = file;
    };
    await fleet.start(["a", "b", "c"], { FLOW_TEST_CRASH_AT: "after-commits:3" });
    try {
      const r = await runJob(dir, name, fleet, async () => {});
      expect(r.status).toBe("finished");
      expect(damaged).not.toBe("");
      expect(fleet.log()).toContain(`checkpoint 3 in ${join(dir, ".flow-state", name)} is damaged and will not be used: ${damaged} does not match its checksum (truncated or corrupt)`);
      expect(fleet.log()).toContain("using checkpoint 2 instead");
      expect(fleet.log()).toMatch(new RegExp(`restoring ${name} from checkpoint 2 `));
      expect(fleet.log()).not.toMatch(new RegExp(`restoring ${name} from checkpoint 3 `));
      // Checkpoint 3's output had been published: recovery cut it back to checkpoint 2's.
      expectGenExact(r.out, "damaged checkpoint 3");
    } finally {
      await fleet.stop();
    }
  });
});

describe("the state directory full", () => {
  it("every write fails with ENOSPC: checkpoints are declined with the reason, and after 3 in a row the job fails cleanly, publishing nothing", async () => {
    const name = "gen-full";
    const dir = jobDir(name, GEN);
    const fleet = new Fleet(dir);
    await fleet.start(["a", "b", "c"], { FLOW_TEST_FAIL_WRITES: "ENOSPC" });
    try {
      const r = await runJob(dir, name, fleet, async () => {});
      expect(r.status).toMatch(/^exit 1: /);
      expect(r.status).toMatch(/gen-full failed: 3 checkpoints in a row were declined; the last because worker [abc]: ENOSPC: no space left on device, write '.*\.flow-state\/gen-full\/chk-3-e1\//);
      expect(r.status).not.toMatch(/\n\s+at /);
      expect(fleet.log()).toMatch(new RegExp(`coordinator of ${name}: checkpoint 1 declined`));
      expect(fleet.all.every((w) => w.proc.exitCode === null && w.proc.signalCode === null), "no worker died").toBe(true);
      // Nothing was committed, nothing staged is left, and no checkpoint directory either.
      expect(existsSync(r.out) ? published(r.out) : []).toEqual([]);
      expect(staged(r.out)).toEqual([]);
      expect(readdirSync(join(dir, ".flow-state", name)).filter((f) => f.startsWith("chk-"))).toEqual([]);
    } finally {
      await fleet.stop();
    }
  });
});

describe("the sessions/join example of LANGUAGE.md", () => {
  it("event-time session windows and an interval join over 200 000 clicks: a worker killed after a checkpoint, both outputs equal the embedded run's", async () => {
    const rng = mulberry32(3);
    const clicks: string[] = [];
    const buys: string[] = [];
    let ts = 1767225600000;
    for (let i = 0; i < 200_000; i++) {
      ts += Math.floor(rng() * 400);
      const user = `u${Math.floor(rng() * 300)}`;
      clicks.push(JSON.stringify({ user, url: `/p${Math.floor(rng() * 50)}`, ts }));
      if (rng() < 0.05) buys.push(JSON.stringify({ user: `u${Math.floor(rng() * 300)}`, amount: Math.floor(rng() * 10000) / 100, ts }));
    }
    const data = join(root, "sessions-data");
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, "clicks.jsonl"), clicks.join("\n") + "\n");
    writeFileSync(join(data, "buys.jsonl"), buys.join("\n") + "\n");
    const program = readFileSync(new URL("../examples/sessions.flow", import.meta.url), "utf8");
    const embedded = jobDir("sessions-embedded", program, { data });
    const e = await flowcAsync(["run", "job.flow", "--quiet", "--partitions", "3"], { cwd: embedded });
    expect(e.stderr).toBe("");
    const expected = { sessions: multiset(published(join(embedded, "out/sessions"))), attributed: multiset(published(join(embedded, "out/attributed"))) };
    expect(expected.sessions.size).toBeGreaterThan(10_000);
    expect(expected.attributed.size).toBeGreaterThan(10_000);

    const name = "sessions";
    const dir = jobDir(name, program, { data });
    const fleet = new Fleet(dir);
    await fleet.start(["a", "b", "c"]);
    try {
      let victim = "";
      const r = await runJob(dir, name, fleet, async () => {
        await fleet.waitLog(new RegExp(`coordinator of ${name}: checkpoint \\d+ completed`));
        victim = ["a", "b", "c"].find((w) => w !== fleet.leader(name))!;
        fleet.get(victim).kill("SIGKILL");
      });
      expect(r.status).toBe("finished");
      expect(fleet.log()).toMatch(new RegExp(`restoring ${name} from checkpoint \\d+ \\(epoch [2-9]\\)`));
      for (const out of ["sessions", "attributed"] as const) {
        const got = multiset(published(join(dir, "out", out)));
        expect(got.size, out).toBe(expected[out].size);
        expect(multisetDiff(got, expected[out]), out).toEqual([]);
        expect(staged(join(dir, "out", out)), out).toEqual([]);
      }
    } finally {
      await fleet.stop();
    }
  });
});
