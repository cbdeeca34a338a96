// A checkpointed `flowc run` job under backpressure: a slow reader of its stdout sink. The job
// (generate → keyBy → count → map → stdout, 2 partitions, a checkpoint every 100 ms) produces
// about 210 MB of output far faster than the test reads it at first: for several seconds the test
// takes only 32 KB of the child's stdout every 50 ms, then reads the rest at full speed. Meanwhile
// it samples the child's peak memory (VmHWM in /proc/<pid>/status), its progress lines and the
// state directory's `latest` pointer. Asserted: the job exits 0 with every record, exact (per key
// the counts 1..n in order); checkpoints keep completing (or are declined with a reason) while the
// sink is backpressured; the records read by the source but not yet read by the test stay a few
// batches; and the child's peak memory grows by far less than the output it would have to hold if
// the stdout sink buffered instead of pausing the source.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FLOWC } from "./helpers/cli.js";

const RECORDS = 2_000_000;
const KEYS = 1000;
const PAD = "padding-to-make-each-output-line-about-one-hundred-bytes-long-0123456789";
/** Slow phase: every TICK_MS the test lets QUOTA bytes through, SLOW_TICKS times (≈ 5 s). */
const TICK_MS = 50;
const QUOTA = 32 * 1024;
const SLOW_TICKS = 100;
/**
 * Records the source may be ahead of the reader while backpressured: the sink's stream buffer
 * (16 KB high-water mark plus the one batch that crossed it), the pipe (64 KB) and the test's
 * paused read buffer hold a few thousand 100-byte lines; buffering without backpressure would put
 * hundreds of thousands there within a second.
 */
const MAX_AHEAD = 20_000;
/** Peak memory growth allowed after the job started writing (the output is ~210 MB). */
const MAX_GROWTH_KB = 80 * 1024;

const LINE = /^\{"key":(\d+),"count":(\d+),"pad":"([^"]*)"\}$/;

function writeJob(): string {
  const dir = mkdtempSync(join(tmpdir(), "flow-backpressure-"));
  writeFileSync(
    join(dir, "bp.flow"),
    `pipeline bp

config {
  partitions: 2
  checkpoint: 100ms
}

source n: int = generate(count: ${RECORDS})

n
  |> keyBy(x => x % ${KEYS})
  |> count()
  |> map(c => { key: c.key, count: c.count, pad: "${PAD}" })
  |> sink stdout(format: "jsonl")
`,
  );
  return dir;
}

interface Observed {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  lines: number;
  bytes: number;
  /** Lines that are not the expected record, or break a key's sequence (the first few). */
  wrong: string[];
  /** Each key's last count. */
  lastCount: Int32Array;
  /** VmHWM (kB) when the first output arrived (compiling done, the job running), and the last sample before exit. */
  hwmAtStartKb: number;
  hwmKb: number;
  /** Lines read when the slow phase ended. */
  linesAtSlowEnd: number;
  /** Progress lines seen during the slow phase, and the most the source was ahead of the reader then. */
  progressDuringSlow: number;
  maxAhead: number;
  /** Distinct checkpoint ids `latest` pointed to during the slow phase. */
  completedDuringSlow: Set<number>;
  /** `checkpoint N declined: reason` warnings seen during the slow phase. */
  declinedDuringSlow: string[];
}

function vmHwmKb(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // exited
  }
}

function runWithSlowReader(dir: string): Promise<Observed> {
  return new Promise((resolve, reject) => {
    // The heap is capped (the compiler's leftovers are ~50 MB of it): a sink that held the output
    // (~210 MB) instead of pausing the source could not finish. Without the cap, with another test
    // file running beside it, the peak sometimes grew by ~160 MB instead of ~20 MB (older code
    // too): heap V8 had not collected yet, not data the job kept.
    const p = spawn(process.execPath, ["--max-old-space-size=128", FLOWC, "run", "bp.flow", "--progress", "lines", "--progress-interval", "1"], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1", CI: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pid = p.pid!;
    const o: Observed = {
      code: null,
      signal: null,
      stderr: "",
      lines: 0,
      bytes: 0,
      wrong: [],
      lastCount: new Int32Array(KEYS),
      hwmAtStartKb: 0,
      hwmKb: 0,
      linesAtSlowEnd: -1,
      progressDuringSlow: 0,
      maxAhead: 0,
      completedDuringSlow: new Set(),
      declinedDuringSlow: [],
    };
    const sample = () => {
      const v = vmHwmKb(pid);
      if (v !== undefined) o.hwmKb = v;
    };
    const sampler = setInterval(sample, 20);
    // Never hang the suite: a job stuck for good is killed (and the assertions fail).
    const guard = setTimeout(() => p.kill("SIGKILL"), 50_000);

    let slow = false;
    let slowTicks = 0;
    let tickBytes = 0;
    let ticker: NodeJS.Timeout | undefined;
    const latest = join(dir, ".flow-state", "bp", "latest");
    const watchCheckpoints = () => {
      try {
        if (existsSync(latest)) o.completedDuringSlow.add(JSON.parse(readFileSync(latest, "utf8")).id as number);
      } catch {
        // Being replaced (temporary file renamed over it): the next tick sees it.
      }
    };
    const tick = () => {
      watchCheckpoints();
      if (++slowTicks > SLOW_TICKS) {
        slow = false;
        clearInterval(ticker);
        o.linesAtSlowEnd = o.lines;
        p.stdout.resume();
        return;
      }
      tickBytes = 0;
      p.stdout.resume();
    };

    let carry = "";
    p.stdout.on("data", (chunk: Buffer) => {
      if (o.bytes === 0) {
        // The job is compiled and running: from here on the slow reader holds it back.
        sample();
        o.hwmAtStartKb = o.hwmKb;
        slow = true;
        ticker = setInterval(tick, TICK_MS);
      }
      o.bytes += chunk.length;
      const text = carry + chunk.toString("utf8");
      const parts = text.split("\n");
      carry = parts.pop()!;
      for (const line of parts) {
        o.lines++;
        const m = LINE.exec(line);
        const key = m ? Number(m[1]) : -1;
        if (!m || m[3] !== PAD || key >= KEYS || Number(m[2]) !== o.lastCount[key]! + 1) {
          if (o.wrong.length < 5) o.wrong.push(line.slice(0, 200));
          // A gap is reported once, not again for every later record of the key.
          if (!m || key >= KEYS) continue;
        }
        o.lastCount[key] = Number(m[2]);
      }
      if (slow) {
        tickBytes += chunk.length;
        if (tickBytes >= QUOTA) p.stdout.pause();
      }
    });

    let errCarry = "";
    p.stderr.on("data", (d: Buffer) => {
      o.stderr += d.toString("utf8");
      const text = errCarry + d.toString("utf8");
      const parts = text.split("\n");
      errCarry = parts.pop()!;
      if (!slow) return;
      for (const line of parts) {
        // The source's count when the child printed it, against what the test has read since: the
        // difference is at most what sat in buffers between them at that moment.
        const progress = /^flowc: ([\d,]+) records in/.exec(line);
        if (progress) {
          o.progressDuringSlow++;
          o.maxAhead = Math.max(o.maxAhead, Number(progress[1]!.replace(/,/g, "")) - o.lines);
        }
        if (/checkpoint \d+ declined/.test(line)) o.declinedDuringSlow.push(line);
      }
    });

    p.on("error", reject);
    p.on("close", (code, signal) => {
      clearInterval(sampler);
      clearInterval(ticker);
      clearTimeout(guard);
      if (carry !== "") {
        o.lines++;
        o.wrong.push(`unterminated: ${carry.slice(0, 200)}`);
      }
      Object.assign(o, { code, signal });
      resolve(o);
    });
  });
}

describe.skipIf(process.platform !== "linux")("a checkpoint under backpressure (a slow stdout reader)", () => {
  it("checkpoints complete or are declined with a reason, every record arrives, and memory stays bounded", async () => {
    const dir = writeJob();
    const o = await runWithSlowReader(dir);
    const summary = o.stderr;

    expect(o.signal, summary).toBeNull();
    expect(o.code, summary).toBe(0);

    // Every record, exactly once and in order per key.
    expect.soft(o.wrong).toEqual([]);
    expect.soft(o.lines).toBe(RECORDS);
    expect.soft(Array.from(o.lastCount).every((c) => c === RECORDS / KEYS)).toBe(true);
    expect.soft(summary).toContain(`records out:  ${RECORDS.toLocaleString("en-US")}`);

    // The slow phase happened while the job was far from done, and the source was held back: it
    // never got more than a few batches ahead of what the test had read.
    expect.soft(o.linesAtSlowEnd).toBeGreaterThan(0);
    expect.soft(o.linesAtSlowEnd).toBeLessThan(RECORDS / 4);
    expect.soft(o.progressDuringSlow).toBeGreaterThanOrEqual(3);
    expect.soft(o.maxAhead).toBeLessThan(MAX_AHEAD);

    // Checkpoints went on under backpressure: each one completed, or was declined with a reason.
    const declinedWithReason = o.declinedDuringSlow.filter((l) => /checkpoint \d+ declined: \S/.test(l));
    expect.soft(declinedWithReason).toEqual(o.declinedDuringSlow);
    expect.soft(o.completedDuringSlow.size + declinedWithReason.length, `ids seen: ${[...o.completedDuringSlow]}`).toBeGreaterThanOrEqual(3);
    const m = /checkpoints: +(\d+) completed, (\d+) declined(; pause per barrier p50 [\d.]+ ms, p99 [\d.]+ ms; longest stretch writing state p99 [\d.]+ ms)?\n/.exec(summary);
    expect(m, summary).not.toBeNull();
    const [completed, declined] = [Number(m![1]), Number(m![2])];
    expect.soft(completed + declined).toBeGreaterThanOrEqual(o.completedDuringSlow.size + declinedWithReason.length);
    if (completed > 0) expect.soft(m![3]).toBeDefined();
    expect.soft(summary.match(/checkpoint \d+ declined: \S/g) ?? []).toHaveLength(declined);
    // A finished run leaves nothing to resume.
    expect.soft(readdirSync(join(dir, ".flow-state"))).toEqual([]);

    // Memory: the output is far larger than the growth allowed, so a sink that buffered what the
    // reader had not taken yet (instead of pausing the source) would exceed it.
    expect.soft(o.hwmAtStartKb).toBeGreaterThan(0);
    expect.soft(o.bytes).toBeGreaterThan(2.5 * MAX_GROWTH_KB * 1024);
    expect.soft(o.hwmKb - o.hwmAtStartKb, `VmHWM ${o.hwmAtStartKb} kB at the first output, ${o.hwmKb} kB at the end`).toBeLessThan(MAX_GROWTH_KB);
  }, 60_000);
});

describe("a checkpoint whose barrier is held up", () => {
  // A slow sink no longer holds a barrier back (a source held back by backpressure injects it while
  // it waits, and in one process the barrier reaches the sink behind the records handed to it).
  // What can still hold one is a source stuck in a read that is not idle: FLOW_TEST_HOLD_BARRIERS.
  it("is declined after --checkpoint-timeout with what it waited for; 3 in a row fail the job with that reason", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flow-held-"));
    writeFileSync(join(dir, "held.flow"), `pipeline held\n\nsource n: int = generate(count: 100000, rate: 20000)\n\nn\n  |> keyBy(x => x % 10)\n  |> count()\n  |> sink file("out", format: "jsonl")\n`);
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [FLOWC, "run", "held.flow", "--progress", "none", "--checkpoint-interval", "100ms", "--checkpoint-timeout", "300ms"], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: "1", CI: "", FLOW_TEST_HOLD_BARRIERS: "1" },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      p.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
      p.on("close", (code) => resolve({ code, stderr }));
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/warning: checkpoint 1 declined: not complete within 300 ms: waiting for source_n_\w+#0, chain_keyBy_\w+#0, aggregate_count_\w+#0, sink_file_\w+#0\n/);
    expect(r.stderr).toMatch(/error: 3 checkpoints in a row were declined; the last because not complete within 300 ms: waiting for source_n_\w+#0/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // Nothing was published, nothing staged is left; the state directory stays for a re-run.
    const out = join(dir, "out");
    const files = existsSync(out) ? readdirSync(out) : [];
    expect(files.filter((f) => f.startsWith("."))).toEqual([]);
    for (const f of files) expect(readFileSync(join(out, f), "utf8"), f).toBe("");
  });
});
