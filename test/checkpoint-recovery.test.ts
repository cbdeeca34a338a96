// Exactly-once through `flowc run` as a user runs it, with real crashes: the job is a child process
// killed with SIGKILL at a random moment (seeded) or at each step between "checkpoint complete" and
// "every sink committed" (the FLOW_TEST_CRASH_AT hook), then the same command runs again. The
// committed output must equal the fault-free output as a multiset, each key's counts must go up by
// one within a part file, no staged file may be left, and a completed run clears its state. Also: a
// damaged latest checkpoint, a full disk under the state directory (FLOW_TEST_FAIL_WRITES), 1%
// malformed input with a crash in the middle (each bad record reported once), 2 → 3 partitions,
// and savepoints (`flowc savepoint`, `flowc run --from`).
import { spawn } from "node:child_process";
import { createServer, type Socket } from "node:net";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FLOWC, flowc, flowcAsync } from "./helpers/cli.js";

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs `flowc run` in `dir`. `killAfterCheckpointMs`: SIGKILL that long after the first checkpoint
 * completed; `killWhen`: SIGKILL as soon as it holds.
 */
function flowcRun(dir: string, args: string[], opts: { env?: Record<string, string>; killAfterCheckpointMs?: number; killWhen?: () => boolean } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NO_COLOR: "1", CI: "", ...opts.env };
    const p = spawn(process.execPath, [FLOWC, "run", ...args, "--progress", "none"], { cwd: dir, env });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += d));
    p.stdout.resume();
    p.on("error", reject);
    let poll: NodeJS.Timeout | undefined;
    const when = opts.killWhen;
    if (when) {
      poll = setInterval(() => {
        if (!when()) return;
        clearInterval(poll);
        p.kill("SIGKILL");
      }, 2);
    }
    if (opts.killAfterCheckpointMs !== undefined) {
      const delay = opts.killAfterCheckpointMs;
      poll = setInterval(() => {
        if (!existsSync(join(dir, ".flow-state"))) return;
        const states = readdirSync(join(dir, ".flow-state"));
        if (!states.some((s) => existsSync(join(dir, ".flow-state", s, "latest")))) return;
        clearInterval(poll);
        setTimeout(() => p.kill("SIGKILL"), delay);
      }, 10);
    }
    p.on("close", (code, signal) => {
      clearInterval(poll);
      resolve({ code, signal, stderr });
    });
  });
}

/** mulberry32: the trials' random moments, the same on every run of the test. */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = 50;
const COUNT = 12_000;

function generateJob(rate = 6000): string {
  const dir = mkdtempSync(join(tmpdir(), "flow-recovery-"));
  writeFileSync(
    join(dir, "gen.flow"),
    `pipeline gen\n\nconfig {\n  partitions: 2\n  checkpoint: 100ms\n}\n\nsource n: int = generate(count: ${COUNT}, rate: ${rate})\n\nn\n  |> keyBy(x => x % ${KEYS})\n  |> count()\n  |> sink file("out", format: "jsonl")\n`,
  );
  return dir;
}

/** Every key's counts 1..n_k, as the fault-free run produces them. */
function expectedRows(countOf: (key: number) => number, keys: number): string[] {
  const rows: string[] = [];
  for (let k = 0; k < keys; k++) for (let c = 1; c <= countOf(k); c++) rows.push(`${k}:${c}`);
  return rows.sort();
}

/** The committed output: the multiset of rows equals `expected`, per-key sequences hold, nothing staged is left. */
function expectExactOutput(dir: string, out: string, expected: string[], parts: number): void {
  const files = readdirSync(join(dir, out));
  expect(files.filter((f) => f.startsWith("."))).toEqual([]);
  expect(files.sort()).toEqual(Array.from({ length: parts }, (_, p) => `part-${p}.jsonl`));
  const rows: string[] = [];
  for (const f of files) {
    const last = new Map<number, number>();
    for (const line of readFileSync(join(dir, out, f), "utf8").split("\n")) {
      if (line === "") continue;
      const r = JSON.parse(line) as { key: number; count: number };
      const prev = last.get(r.key);
      if (prev !== undefined) expect(r.count, `key ${r.key} in ${f}`).toBe(prev + 1);
      last.set(r.key, r.count);
      rows.push(`${r.key}:${r.count}`);
    }
  }
  expect(rows.length).toBe(expected.length);
  expect(rows.sort()).toEqual(expected);
  // A completed run leaves nothing to resume.
  expect(readdirSync(join(dir, ".flow-state"))).toEqual([]);
}

const genExpected = expectedRows((k) => COUNT / KEYS, KEYS);

describe("kill -9 of flowc run, then the same command again", () => {
  it("3 seeded trials: the output equals the fault-free run's", async () => {
    const random = rng(20261201);
    const trials = [0, 1, 2].map(async () => {
      const dir = generateJob();
      const killed = await flowcRun(dir, ["gen.flow"], { killAfterCheckpointMs: Math.floor(random() * 1200) });
      expect(killed.signal).toBe("SIGKILL");
      const again = await flowcRun(dir, ["gen.flow"]);
      expect(again.stderr).toMatch(/Resuming gen from checkpoint \d+/);
      expect(again.code).toBe(0);
      expect(again.stderr).toMatch(/checkpoints: +\d+ completed, 0 declined; pause per barrier p50 [\d.]+ ms, p99 [\d.]+ ms; longest stretch writing state p99 [\d.]+ ms \(resumed from checkpoint \d+\)/);
      expectExactOutput(dir, "out", genExpected, 2);
    });
    await Promise.all(trials);
  }, 180_000);

  it("killed before its first checkpoint completed: the re-run starts afresh and discards the staged output", async () => {
    const dir = generateJob();
    const staged = () => existsSync(join(dir, "out")) && readdirSync(join(dir, "out")).some((f) => f.startsWith(".part-"));
    const killed = await flowcRun(dir, ["gen.flow"], { killWhen: staged });
    expect(killed.signal).toBe("SIGKILL");
    expect(existsSync(join(dir, ".flow-state/gen/latest"))).toBe(false);
    const again = await flowcRun(dir, ["gen.flow"]);
    expect(again.code).toBe(0);
    expectExactOutput(dir, "out", genExpected, 2);
  }, 120_000);
});

describe("a crash at each step between checkpoint complete and every sink committed", () => {
  const steps = ["after-manifest", "after-pointer", "after-first-commit", "mid-commit", "after-commits"];
  it.each(steps)("%s: the re-run commits (again) or discards, and the output is exact", async (step) => {
    const dir = generateJob();
    const crashed = await flowcRun(dir, ["gen.flow"], { env: { FLOW_TEST_CRASH_AT: `${step}:3` } });
    expect(crashed.signal).toBe("SIGKILL");
    const latest = JSON.parse(readFileSync(join(dir, ".flow-state/gen/latest"), "utf8")).id;
    expect(latest).toBe(step === "after-manifest" ? 2 : 3);
    const again = await flowcRun(dir, ["gen.flow"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`Resuming gen from checkpoint ${latest}`);
    expectExactOutput(dir, "out", genExpected, 2);
  }, 120_000);

  it("mid-commit of the first checkpoint (its segments renamed onto the empty output, not yet synced): the output is exact", async () => {
    const dir = generateJob();
    const crashed = await flowcRun(dir, ["gen.flow"], { env: { FLOW_TEST_CRASH_AT: "mid-commit:1" } });
    expect(crashed.signal).toBe("SIGKILL");
    expect(JSON.parse(readFileSync(join(dir, ".flow-state/gen/latest"), "utf8")).id).toBe(1);
    // Killed right after the first partition's segment became its output by a rename.
    expect(statSync(join(dir, "out", "part-0.jsonl")).size).toBeGreaterThan(0);
    expect(existsSync(join(dir, "out", ".part-0.jsonl.ckpt-after-0"))).toBe(false);
    expect(existsSync(join(dir, "out", ".part-1.jsonl.ckpt-after-0"))).toBe(true);
    const again = await flowcRun(dir, ["gen.flow"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("Resuming gen from checkpoint 1");
    expectExactOutput(dir, "out", genExpected, 2);
  }, 120_000);
});

describe("a pipeline that ends before the others", () => {
  it("does not hold checkpoints back: they go on, a crash after it ended recovers, and its output is committed once", async () => {
    const dir = generateJob();
    // A second pipeline in the same job, over a small file: it ends within the first checkpoints.
    writeFileSync(join(dir, "words.txt"), Array.from({ length: 3000 }, (_, i) => `v${i % 7}`).join("\n") + "\n");
    writeFileSync(join(dir, "gen.flow"), readFileSync(join(dir, "gen.flow"), "utf8") + `\nsource w: string = file("words.txt", format: "lines")\n\nw\n  |> keyBy(x => x)\n  |> count()\n  |> sink file("words", format: "csv")\n`);
    const crashed = await flowcRun(dir, ["gen.flow"], { env: { FLOW_TEST_CRASH_AT: "after-commits:8" } });
    expect(crashed.signal, crashed.stderr).toBe("SIGKILL");
    const again = await flowcRun(dir, ["gen.flow"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("Resuming gen from checkpoint 8");
    expectExactOutput(dir, "out", genExpected, 2);
    const rows = readdirSync(join(dir, "words"))
      .filter((f) => f.startsWith("part-"))
      .flatMap((f) => readFileSync(join(dir, "words", f), "utf8").split("\n").slice(1).filter((l) => l !== ""));
    const want = Array.from({ length: 7 }, (_, k) => Array.from({ length: Math.ceil((3000 - k) / 7) }, (_, c) => `v${k},${c + 1}`)).flat();
    expect(rows.sort()).toEqual(want.sort());
    expect(readdirSync(join(dir, "words")).filter((f) => f.startsWith("."))).toEqual([]);
  }, 120_000);
});

describe("damage and a full disk", () => {
  it("a truncated latest checkpoint is detected and never used: the previous one is, with a warning", async () => {
    const dir = generateJob();
    const crashed = await flowcRun(dir, ["gen.flow"], { env: { FLOW_TEST_CRASH_AT: "after-commits:4" } });
    expect(crashed.signal).toBe("SIGKILL");
    const chk = join(dir, ".flow-state/gen/chk-4");
    const stateFile = readdirSync(chk).find((f) => f.startsWith("aggregate"))!;
    truncateSync(join(chk, stateFile), 5);
    const again = await flowcRun(dir, ["gen.flow"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/warning: checkpoint 4 .* is damaged .*does not match its checksum/);
    expect(again.stderr).toContain("using checkpoint 3 instead");
    expect(again.stderr).toContain("Resuming gen from checkpoint 3");
    expectExactOutput(dir, "out", genExpected, 2);
  }, 120_000);

  it("a full disk (ENOSPC) declines checkpoints without damaging the last good one; 3 in a row fail the job with the reason", async () => {
    const dir = generateJob();
    // Each checkpoint writes 2 state files, the manifest, its checksum and the pointer: 2 complete.
    const full = await flowcRun(dir, ["gen.flow"], { env: { FLOW_TEST_FAIL_WRITES: "ENOSPC:10" } });
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/warning: checkpoint 3 declined: ENOSPC: no space left on device/);
    expect(full.stderr).toMatch(/error.*3 checkpoints in a row were declined; the last because ENOSPC/);
    const state = join(dir, ".flow-state/gen");
    expect(JSON.parse(readFileSync(join(state, "latest"), "utf8")).id).toBe(2);
    expect(readdirSync(state).filter((f) => f.startsWith("chk-")).sort()).toEqual(["chk-1", "chk-2"]);
    const again = await flowcRun(dir, ["gen.flow", "--max-declined-checkpoints", "5"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("Resuming gen from checkpoint 2");
    expectExactOutput(dir, "out", genExpected, 2);
  }, 120_000);
});

describe("malformed input and rescaling", () => {
  it("1% malformed records and a crash in the middle: each bad record reported exactly once, the good output exact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flow-recovery-bad-"));
    const lines: string[] = [];
    const bad = new Set<number>();
    const perKey = new Array<number>(KEYS).fill(0);
    const random = rng(7);
    for (let i = 0; i < 200_000; i++) {
      if (random() < 0.01) {
        bad.add(i + 1);
        lines.push(i % 2 === 0 ? `{"k": ${i % KEYS}, "v": "not an int"}` : `{broken ${i}`);
      } else {
        lines.push(JSON.stringify({ k: i % KEYS, v: i }));
        perKey[i % KEYS]!++;
      }
    }
    writeFileSync(join(dir, "in.jsonl"), lines.join("\n") + "\n");
    writeFileSync(join(dir, "bad.flow"), `pipeline bad\n\nsource r: { k: int, v: int } = file("in.jsonl", format: "jsonl")\n\nr\n  |> keyBy(x => x.k)\n  |> count()\n  |> sink file("out", format: "jsonl")\n`);
    const args = ["bad.flow", "-p", "2", "--checkpoint-interval", "20ms", "--max-problems", "1000000"];
    const crashed = await flowcRun(dir, args, { env: { FLOW_TEST_CRASH_AT: "after-pointer:2" } });
    expect(crashed.signal).toBe("SIGKILL");
    const again = await flowcRun(dir, args);
    expect(again.code).toBe(0);
    const reported = (s: string) => [...s.matchAll(/bad record at in\.jsonl:(\d+) /g)].map((m) => Number(m[1]));
    const first = reported(crashed.stderr);
    const second = reported(again.stderr);
    // The crash came in the middle: some bad records were reported before it, some after.
    expect(first.length).toBeGreaterThan(0);
    expect(second.length).toBeGreaterThan(0);
    const all = [...first, ...second].sort((a, b) => a - b);
    expect(all).toEqual([...bad].sort((a, b) => a - b));
    expectExactOutput(dir, "out", expectedRows((k) => perKey[k]!, KEYS), 2);
  }, 120_000);

  it("a checkpoint of 2 partitions restored into 3 redistributes the key groups: same output", async () => {
    const dir = generateJob();
    const crashed = await flowcRun(dir, ["gen.flow"], { env: { FLOW_TEST_CRASH_AT: "after-commits:3" } });
    expect(crashed.signal).toBe("SIGKILL");
    const again = await flowcRun(dir, ["gen.flow", "--partitions", "3"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("(3 partitions)");
    expectExactOutput(dir, "out", genExpected, 3);
  }, 120_000);
});

describe("a socket source through its write-ahead log", () => {
  it("after a crash, replays what it had received from the log and goes on with the new connection: exact output", async () => {
    const n = 6000;
    const text = Array.from({ length: n }, (_, i) => `${i % KEYS}\n`).join("");
    let connections = 0;
    let resumeAt = -1;
    const open: Socket[] = [];
    const server = createServer((sock) => {
      open.push(sock);
      sock.on("error", () => {});
      if (connections++ === 0) {
        // Paced, and never ended: the job is killed while it reads.
        let at = 0;
        const t = setInterval(() => {
          if (at >= text.length || sock.destroyed) return clearInterval(t);
          sock.write(text.slice(at, (at += 199)));
        }, 20);
      } else {
        // A sender that can replay: from the first byte the crashed receiver had not logged.
        sock.end(text.slice(resumeAt));
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const dir = mkdtempSync(join(tmpdir(), "flow-recovery-socket-"));
      writeFileSync(join(dir, "sock.flow"), `pipeline sock\n\nsource n: int = socket("127.0.0.1", ${port})\n\nn\n  |> keyBy(x => x)\n  |> count()\n  |> sink file("out", format: "jsonl")\n`);
      const args = ["sock.flow", "-p", "2", "--checkpoint-interval", "50ms"];
      const crashed = await flowcRun(dir, args, { env: { FLOW_TEST_CRASH_AT: "after-pointer:3" } });
      expect(crashed.signal).toBe("SIGKILL");
      const sources = join(dir, ".flow-state/sock/sources");
      const wal = join(sources, readdirSync(sources)[0]!, "wal");
      resumeAt = readFileSync(wal).length;
      expect(resumeAt).toBeGreaterThan(0);
      expect(resumeAt).toBeLessThan(text.length);
      const again = await flowcRun(dir, args);
      expect(again.code).toBe(0);
      expect(again.stderr).toContain("Resuming sock from checkpoint 3");
      expectExactOutput(dir, "out", expectedRows(() => n / KEYS, KEYS), 2);
    } finally {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 120_000);
});

describe("savepoints", () => {
  it("taken while the job runs, kept after it finished; `run --from` rewinds the output to it and gives the same output, also in 3 partitions", async () => {
    // Slow enough (8 s) that the savepoint, which starts a flowc process, is taken while it runs.
    const dir = generateJob(1500);
    const running = flowcRun(dir, ["gen.flow"]);
    while (!existsSync(join(dir, ".flow-state/gen/latest"))) await new Promise((r) => setTimeout(r, 20));
    const taken = await flowcAsync(["savepoint", "gen.flow", "-o", "sp"], { cwd: dir });
    expect(taken.stderr).toMatch(/^savepoint of gen at checkpoint \d+ \(2 partitions\) written to .*sp\nstart from it with: flowc run gen\.flow --from .*sp\n$/);
    expect(taken.code).toBe(0);
    const id = Number(/checkpoint (\d+)/.exec(taken.stderr)![1]);
    const finished = await running;
    expect(finished.code).toBe(0);
    expectExactOutput(dir, "out", genExpected, 2);
    // The finished job cleared its state directory; the savepoint stays.
    const info = JSON.parse(readFileSync(join(dir, "sp/savepoint.json"), "utf8"));
    expect(info).toMatchObject({ format: "flow-savepoint", pipeline: "gen", checkpoint: id, partitions: 2 });
    expect(readdirSync(join(dir, "sp")).sort()).toEqual(expect.arrayContaining(["manifest.json", "manifest.sha256", "savepoint.json"]));

    const again = await flowcRun(dir, ["gen.flow", "--from", "sp"]);
    expect(again.stderr).toContain(`Starting gen from the savepoint sp (checkpoint ${id})`);
    expect(again.code).toBe(0);
    expectExactOutput(dir, "out", genExpected, 2);
    const rescaled = await flowcRun(dir, ["gen.flow", "--from", "sp", "--partitions", "3"]);
    expect(rescaled.code).toBe(0);
    expect(rescaled.stderr).toContain("(3 partitions)");
    expectExactOutput(dir, "out", genExpected, 3);

    // Mistakes: each a clear message, exit 1, no stack, the savepoint unharmed.
    const noStack = (r: { stderr: string }) => expect(r.stderr).not.toMatch(/\n\s+at /);
    const finishedJob = flowc(["savepoint", "gen.flow", "-o", "sp2"], { cwd: dir });
    expect(finishedJob.stderr).toContain("holds no completed checkpoint of gen");
    const noCheckpoints = flowc(["run", "gen.flow", "--from", "sp", "--checkpoint-interval", "0"], { cwd: dir });
    expect(noCheckpoints.stderr).toContain("--from needs checkpoints");
    const notOne = flowc(["run", "gen.flow", "--from", "out"], { cwd: dir });
    expect(notOne.stderr).toContain("out is not a savepoint: it has no savepoint.json");
    writeFileSync(join(dir, "other.flow"), readFileSync(join(dir, "gen.flow"), "utf8").replace("keyBy(x => x % 50)", "keyBy(x => x % 7)"));
    const otherVersion = flowc(["run", "other.flow", "--from", "sp"], { cwd: dir });
    expect(otherVersion.stderr).toContain("was taken from another version of pipeline `gen`");
    writeFileSync(join(dir, "renamed.flow"), readFileSync(join(dir, "gen.flow"), "utf8").replace("pipeline gen", "pipeline renamed"));
    const otherPipeline = flowc(["run", "renamed.flow", "--from", "sp"], { cwd: dir });
    expect(otherPipeline.stderr).toContain("is of pipeline `gen`, not `renamed`");
    const stateFile = readdirSync(join(dir, "sp")).find((f) => /\.\d+\.json$/.test(f))!;
    truncateSync(join(dir, "sp", stateFile), 5);
    const damaged = flowc(["run", "gen.flow", "--from", "sp"], { cwd: dir });
    expect(damaged.stderr).toContain(`is damaged and cannot be used: ${stateFile} does not match its checksum`);
    for (const r of [finishedJob, noCheckpoints, notOne, otherVersion, otherPipeline, damaged]) {
      expect(r.code).toBe(1);
      noStack(r);
    }
    // A refused --from changed nothing: the output is still the last run's.
    expectExactOutput(dir, "out", genExpected, 3);
  }, 180_000);

  it("a savepoint needs a completed checkpoint; an existing target directory is refused", async () => {
    const dir = generateJob();
    const none = flowc(["savepoint", "gen.flow"], { cwd: dir });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/\.flow-state\/gen holds no completed checkpoint of gen/);
    expect(none.stderr).toContain("a job that finished has cleared its state");
    const killed = await flowcRun(dir, ["gen.flow"], { killAfterCheckpointMs: 0 });
    expect(killed.signal).toBe("SIGKILL");
    const first = flowc(["savepoint", "gen.flow"], { cwd: dir });
    expect(first.code).toBe(0);
    const id = /checkpoint (\d+)/.exec(first.stderr)![1];
    expect(existsSync(join(dir, `savepoints/gen-${id}/savepoint.json`))).toBe(true);
    const twice = flowc(["savepoint", "gen.flow"], { cwd: dir });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("already exists: a savepoint goes into a new directory");
    // The crashed job resumes from its own state directory as before.
    const again = await flowcRun(dir, ["gen.flow"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`Resuming gen from checkpoint ${id}`);
    expectExactOutput(dir, "out", genExpected, 2);
  }, 120_000);

  it("not a .flow file and no ZooKeeper: says what it expected", () => {
    const r = flowc(["savepoint", "somejob"], { cwd: tmpdir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("`somejob` is not a .flow file, and no ZooKeeper was given");
  });
});
