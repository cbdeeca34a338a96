// Exactly-once on the cluster: `flowc worker` processes on a real ZooKeeper, jobs submitted with
// checkpoints, and faults injected while they run. Every fault on the three programs of issue 5
// (socket and file word counts, sessions/join) is in cluster-faults.test.ts; these are the ones
// that need a program of their own: a zombie resumed at two moments, the socket reader killed,
// savepoints, and 1% malformed records with every worker crashing. After each fault the committed output is
// compared with the fault-free (embedded) run's: as a multiset, per key as a sequence (a replay
// from the beginning, a lost or a duplicated update would show), and no staged file may be left.
// Trials are seeded: the moment and the victim of a kill come from a PRNG, printed on failure.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { flowcAsync, type CliResult } from "./helpers/cli.js";
import { multiset, published, sequences, staged } from "./helpers/outputs.js";
import { Fleet, mulberry32, runJob, stopLeftFleets } from "./helpers/fleet.js";
import { cluster } from "./helpers/workers.js";
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

const root = mkdtempSync(join(tmpdir(), "flowc-cluster-recovery-"));
let zk: ZkServers;

function jobDir(name: string, program: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "job.flow"), program);
  return dir;
}

let genExpected: { lines: Map<string, number>; seq: Map<number, number[]> };

beforeAll(async () => {
  zk = await startZooKeeper(1);
  const gen = jobDir("gen-embedded", GEN);
  const a = await flowcAsync(["run", "job.flow", "--quiet"], { cwd: gen });
  expect(a.stderr).toBe("");
  genExpected = { lines: multiset(published(join(gen, "out"))), seq: sequences(join(gen, "out")) };
  expect(genExpected.seq.size).toBe(23);
});

afterEach(async (ctx) => {
  await stopLeftFleets(zk.connectString, root, ctx.task.result?.state === "fail");
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

describe("a zombie worker", () => {
  // Resumed while the job still runs (it learns of the new epoch), or only once the job has finished
  // (it learns of the end first): either way what it staged while frozen is removed, never published.
  for (const resume of ["after the recovery", "after the job finished"] as const) {
    it(`frozen (SIGSTOP) past its session timeout, resumed ${resume}: it commits nothing, the output is exact`, async () => {
      const name = `gen-zombie-${resume === "after the recovery" ? 1 : 2}`;
      const dir = jobDir(name, GEN);
      const fleet = new Fleet(dir, zk.connectString);
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
    const fleet = new Fleet(dir, zk.connectString);
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
    const fleet = new Fleet(dir, zk.connectString);
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
    const fleet = new Fleet(dir, zk.connectString);
    // Every worker dies once it has committed checkpoint 1 (the source is well into the file and
    // past the checkpoint's offset by then); the restarted ones go on from that checkpoint. The
    // sinks take 10 ms per batch, so that the job cannot end before checkpoint 1 is committed (in
    // CI it once did: no worker crashed).
    await fleet.start(["a", "b", "c"], { FLOW_TEST_CRASH_AT: "after-commits:1", FLOW_TEST_SLOW_SINK: "10" });
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
