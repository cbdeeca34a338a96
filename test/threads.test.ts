// Partitions on worker threads (RunOptions.threads, `flowc run --threads`): the same output as on
// one thread, with records crossing threads as columns or clones; failed records and a failing or
// dying thread reported on the calling thread; options it cannot be combined with refused.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { MessageChannel } from "node:worker_threads";
import { Job, JobError, type RunOptions } from "../runtime/exec/job.js";
import { PeerLink } from "../runtime/exec/threads.js";
import { codecFor } from "../runtime/transport/columns.js";
import { T } from "../runtime/types.js";
import type { PlanModule } from "../runtime/plan.js";
import { flowc } from "./helpers/cli.js";
import { compileModule } from "./helpers/plan-module.js";

// Event-time sums over records of numbers (they cross threads as columns), and word counts over
// strings (they cross as clones), from single-instance sources rebalanced over the partitions.
const PROGRAM = `pipeline threads
source raw: { n: int, t: timestamp } = generate(count: 40000)
source words: string = generate(count: 6000, seed: 7)

raw
  |> map(r => { key: r.n % 97, value: r.n % 10, ok: r.n % 3 == 0, ts: r.t })
  |> watermark(e => e.ts, delay: 0ms)
  |> keyBy(e => e.key)
  |> window(tumbling(1h))
  |> aggregate({ sum: sum(e => e.value), oks: sum(e => e.ok ? 1 : 0) })
  |> sink file("out/sums", format: "jsonl")

words |> keyBy(w => w) |> window(tumbling(1d)) |> count() |> sink file("out/words", format: "jsonl")
`;

let dir: string;
let mod: PlanModule;
let moduleUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flowc-threads-"));
  mod = await compileModule(dir, "threads", PROGRAM);
  moduleUrl = pathToFileURL(join(dir, "threads.plan.js")).href;
});

/** Every line of every file of a file sink's directory, sorted. */
function lines(out: string): string[] {
  return readdirSync(out)
    .flatMap((f) => readFileSync(join(out, f), "utf8").split("\n"))
    .filter((l) => l !== "")
    .sort();
}

async function run(name: string, opts: RunOptions) {
  const baseDir = join(dir, name);
  const job = new Job(mod, { baseDir, moduleUrl, ...opts });
  await job.open();
  const summary = await job.run();
  return { summary, sums: lines(join(baseDir, "out/sums")), words: lines(join(baseDir, "out/words")) };
}

describe("partitions on threads", () => {
  it("give the output of one thread, with 3 partitions on 3 threads and on 2", async () => {
    const one = await run("one", { partitions: 3 });
    expect(one.summary.threads).toBe(1);
    expect(one.sums.length).toBe(97 * 12);
    expect(one.words.length).toBeGreaterThan(10);
    for (const threads of [3, 2]) {
      const many = await run(`threads-${threads}`, { partitions: 3, threads });
      expect(many.summary.threads).toBe(threads);
      expect(many.sums).toEqual(one.sums);
      expect(many.words).toEqual(one.words);
      expect(many.summary.recordsIn).toBe(46000);
      expect(many.summary.recordsOut).toBe(one.summary.recordsOut);
      expect(many.summary.sinks).toEqual(one.summary.sinks);
      // Each partition wrote its own file, on the thread that ran it.
      expect(readdirSync(join(dir, `threads-${threads}`, "out/sums")).length).toBe(3);
    }
  });

  it("use at most one thread per partition", async () => {
    const r = await run("capped", { partitions: 2, threads: 8 });
    expect(r.summary.threads).toBe(2);
    expect(r.sums.length).toBe(97 * 12);
  });

  it("refuse options that cannot cross threads, and a thread count that is not a whole number", async () => {
    for (const opts of [{ sinkOverride: () => undefined }, { restore: [] }, { attempt: 1 }, { checkpoint: {} }] as RunOptions[]) {
      const job = new Job(mod, { baseDir: join(dir, "refused"), moduleUrl, partitions: 2, threads: 2, ...opts });
      await expect(job.open()).rejects.toThrow(JobError);
      await expect(job.open()).rejects.toThrow(/threads cannot be combined with/);
    }
    for (const threads of [0, 2.5]) expect(() => new Job(mod, { moduleUrl, partitions: 2, threads })).toThrow(`threads must be a whole number of at least 1, not ${threads}`);
  });

  it("refuse to start a thread that would import another plan", async () => {
    const other = mkdtempSync(join(tmpdir(), "flowc-threads-other-"));
    await compileModule(other, "threads", PROGRAM.replace("count: 40000", "count: 40001"));
    const job = new Job(mod, { baseDir: join(dir, "other"), moduleUrl: pathToFileURL(join(other, "threads.plan.js")).href, partitions: 2, threads: 2 });
    await expect(job.open()).rejects.toThrow(/changed after the job started: partition thread 1 would run another plan/);
  });

  it("report a sink that cannot be opened as a JobError, without hanging", async () => {
    const base = join(dir, "blocked");
    mkdirSync(base);
    // The sinks' directory is a file: no partition can open its sink.
    writeFileSync(join(base, "out"), "not a directory");
    const job = new Job(mod, { baseDir: base, moduleUrl, partitions: 2, threads: 2 });
    const err = await job.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JobError);
    expect((err as JobError).message).toContain(join(base, "out"));
  });
});

describe("the port between two threads", () => {
  it("holds acknowledgements while the receiver's sinks are full: the sender's sources wait until they drain", async () => {
    const { port1, port2 } = new MessageChannel();
    const codecs = () => codecFor(T.int);
    const sender = new PeerLink(port1, codecs);
    const receiver = new PeerLink(port2, codecs);
    let delivered = 0;
    let drain!: () => void;
    const full = new Promise<void>((r) => (drain = r));
    let holding = true;
    sender.listen(() => expect.unreachable("nothing is sent back but acknowledgements"), (e) => expect.unreachable(String(e)));
    receiver.listen(() => void delivered++, (e) => expect.unreachable(String(e)), () => (holding ? full : undefined));
    const to = sender.receiver("node", 1);
    for (let i = 0; i < 140; i++) to.receive({ values: [i], keys: null }, 0);
    const waiting = sender.pressure();
    expect(waiting).toBeDefined();
    await new Promise((r) => setTimeout(r, 50));
    // Everything arrived, but no acknowledgement came back: the sender still waits.
    expect(delivered).toBe(140);
    expect(sender.pressure()).toBe(waiting);
    holding = false;
    drain();
    await waiting;
    expect(sender.pressure()).toBeUndefined();
    sender.close();
  });
});

describe("records failing on another thread", () => {
  let udfDir: string;
  beforeAll(() => {
    udfDir = mkdtempSync(join(tmpdir(), "flowc-threads-udf-"));
    writeFileSync(
      join(udfDir, "udfs.ts"),
      `import { isMainThread } from "node:worker_threads";
export function check(n: number): number {
  if (n % 1000 === 999) throw new Error(\`bad \${n} on \${isMainThread ? "the main thread" : "a worker thread"}\`);
  // Record 1500 is in the second batch, which goes to partition 1: on thread 1.
  if (n === 1500 && !isMainThread && process.env.FLOW_TEST_EXIT === "1") process.exit(3);
  return n;
}
`,
    );
    writeFileSync(
      join(udfDir, "job.flow"),
      `import { check } from "./udfs.ts"
source raw: int = generate(count: 5000)

raw
  |> map(n => check(n))
  |> keyBy(n => n % 10)
  |> window(tumbling(1d))
  |> count()
  |> sink file("out/counts", format: "jsonl")
`,
    );
  });

  it("are reported with their place, from every thread, and skipped", () => {
    const r = flowc(["run", join(udfDir, "job.flow"), "-p", "2", "--threads", "2", "--progress", "none"]);
    expect(r.stderr).not.toContain("    at ");
    expect(r.code).toBe(0);
    const failed = r.stderr.split("\n").filter((l) => l.startsWith("warning: record failed at job.flow:5:15: check threw: bad "));
    expect(failed.length).toBe(5);
    expect(failed.some((l) => l.includes("a worker thread"))).toBe(true);
    expect(failed.some((l) => l.includes("the main thread"))).toBe(true);
    expect(r.stderr).toMatch(/Finished job in [\d.]+ s \(2 partitions on 2 threads\)/);
    expect(r.stderr).toContain("failed records: 5");
    const counts = lines(join(udfDir, "out/counts")).map((l) => JSON.parse(l) as { key: number; count: number });
    expect(counts.reduce((n, c) => n + c.count, 0)).toBe(4995);
  });

  it("stop the job with --fail-on-error: a clear error, no stack trace", () => {
    const r = flowc(["run", join(udfDir, "job.flow"), "-p", "2", "--threads", "2", "--progress", "none", "--fail-on-error"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: a record failed at job\.flow:5:15: check threw: bad \d+/);
    expect(r.stderr).not.toContain("    at ");
  });

  it("a thread that dies fails the job with the thread's exit code", () => {
    const r = flowc(["run", join(udfDir, "job.flow"), "-p", "2", "--threads", "2", "--progress", "none"], { env: { FLOW_TEST_EXIT: "1" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error: partition thread 1 stopped (exit code 3) before its partitions finished");
    expect(r.stderr).not.toContain("    at ");
  });

  it("refuse checkpoints on the command line", () => {
    const r = flowc(["run", join(udfDir, "job.flow"), "-p", "2", "--threads", "2", "--progress", "none", "--checkpoint-interval", "1s"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--threads cannot be combined with checkpoints yet");
  });
});
