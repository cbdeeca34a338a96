// The benchmark as a smoke run (`--quick` at a twentieth of its sizes, one round, W1–W5): every
// contender of every workload (the plan also after 20 other plans ran in its process) computes the same checksum, W1's checksum is the closed-form sum,
// W5's runs with checkpoints (every millisecond here) take some and give the output of the runs without,
// every Nexmark query's plan gives its hand-written loop's results, and the report (markdown table and SVG chart) is written. Timings are never asserted: the machine is
// shared. W6 (compile time) is left out: it would double the test's time, and e2e.test.ts already
// compiles every example.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../bench/report.js";
import { ROOT } from "./helpers/cli.js";

const run = promisify(execFile);
const MAIN = join(ROOT, "dist/bench/main.js");
let work: string;
let report: Report;
let markdown: string;
let svg: string;

beforeAll(async () => {
  // `npm test` builds first; a lone `vitest run bench` may not have.
  if (!existsSync(MAIN)) await run(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", join(ROOT, "tsconfig.json")], { cwd: ROOT });
  work = mkdtempSync(join(tmpdir(), "flow-bench-test-"));
  await run(process.execPath, [MAIN, "--quick", "--scale", "0.05", "--rounds", "1", "--only", "W1,W2,W3,W4,W5,NX", "--checkpoint-interval", "1", "--out", work, "--data", join(work, "data"), "--json", join(work, "report.json")], { cwd: ROOT });
  report = JSON.parse(readFileSync(join(work, "report.json"), "utf8")) as Report;
  markdown = readFileSync(join(work, "performance.md"), "utf8");
  svg = readFileSync(join(work, "performance.svg"), "utf8");
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("npm run bench -- --quick", () => {
  it("runs every workload with every contender", () => {
    expect(report.workloads.map((w) => w.id)).toEqual(["W1", "W2", "W3", "W4"]);
    for (const id of ["W1", "W2", "W3"]) {
      expect(report.workloads.find((w) => w.id === id)!.rows.map((r) => r.id)).toEqual(["hand", "plan", "plan20", "rxjs", "streams", "highland"]);
    }
  });

  it("gets the same checksum from every contender", () => {
    for (const w of report.workloads) {
      const checksums = new Set(w.rows.map((r) => r.checksum));
      expect(checksums.size, `${w.id}: ${w.rows.map((r) => `${r.id}=${r.checksum}`).join(" ")}`).toBe(1);
      expect(w.rows.every((r) => r.checksumOk)).toBe(true);
    }
  });

  it("sums W1 right: 3 · Σ of the even numbers below N", () => {
    const n = report.workloads[0]!.records;
    expect(n).toBe(10_000);
    let even = 0;
    for (let x = 0; x < n; x += 2) even += x;
    expect(report.workloads[0]!.rows[0]!.checksum).toBe(String(3 * even));
  });

  it("sums W3 the same with 1 and 2 partitions in W4, on 1 thread and on 2, and as two halves on two threads", () => {
    const w3 = report.workloads.find((w) => w.id === "W3")!;
    const w4 = report.workloads.find((w) => w.id === "W4")!;
    expect(w4.rows.map((r) => r.id)).toEqual(["plan1", "plan2", "plan2t", "shares2t"]);
    for (const r of w4.rows) expect(r.checksum).toBe(w3.rows[0]!.checksum);
    // The half alone is a note (its checksum is half of W3's): its time and the bound it sets.
    expect(markdown).toMatch(/One half alone, on the main thread with the machine to itself, took [\d.]+ m?s: [\d.]+× the time of 1 partition over all the events .*at most [\d.]+× as fast as one here/);
  });

  it("runs W5's pipelines with and without checkpoints, to the same output", () => {
    expect(report.checkpoints.map((c) => c.id)).toEqual(["W2", "W3", "W3-10k"]);
    for (const c of report.checkpoints) expect(c.checksumOk, c.id).toBe(true);
    // The runs are short: a generate source may end before its first turn lets the timer fire, but
    // the file source of W2 waits for its reads, and its run takes checkpoints.
    expect(report.checkpoints.flatMap((c) => c.pauses).length).toBeGreaterThan(0);
    expect(markdown).toContain("## W5: checkpoints every 1 ms");
    expect(markdown).toMatch(/\| W5 W3: barrier pause p99 ≤ 10 ms \(the longer of the pause at the barrier and the longest stretch writing the state\) \| [^|]+ \| (yes|\*\*no\*\*|not measured) \|/);
    expect(report.checkpoints.flatMap((c) => c.stalls).length).toBe(report.checkpoints.flatMap((c) => c.pauses).length);
  });

  it("runs the Nexmark queries, each plan with its hand-written loop's results", () => {
    expect(report.nexmark.map((q) => q.query)).toEqual(["q0", "q1", "q2", "q5", "q7"]);
    for (const q of report.nexmark) {
      const [hand, plan] = q.rows;
      expect(plan!.checksum, q.query).toBe(hand!.checksum);
      expect(plan!.checksumOk).toBe(true);
    }
    // q2 selects some bids, q5 finds a hottest auction per window: not empty results.
    expect(report.nexmark.find((q) => q.query === "q2")!.rows[0]!.checksum).not.toMatch(/^0 rows/);
    expect(report.nexmark.find((q) => q.query === "q5")!.rows[0]!.checksum).not.toMatch(/^0 windows/);
    expect(markdown).toContain("## Nexmark subset (5,000 bids per query)");
  });

  it("writes the markdown table and the SVG chart", () => {
    expect(markdown.split("\n")[0]).toMatch(/^<!-- Generated by `npm run bench`/);
    expect(markdown).toContain("| contender | time | vs hand loop | records/s | peak RSS | checksum |");
    for (const name of ["hand-written loop", "compiled .flow plan", "compiled plan, after 20 other plans", "RxJS 7", "Node streams (object mode)", "highland 2"]) expect(markdown).toContain(`| ${name} |`);
    expect(markdown).toMatch(/Node v\d+/);
    expect(markdown).toContain("## The targets of issue 7");
    expect(markdown).toMatch(/\| W2: plan peak RSS \/ hand loop peak RSS ≤ 1\.5× \| [\d.]+× \| (yes|\*\*no\*\*) \|/);
    expect(markdown).not.toContain("MISMATCH");
    expect(svg).toMatch(/<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>[\s\S]*<\/svg>\n$/);
    // The background, six contenders of W1–W3, four of W4.
    expect((svg.match(/<rect /g) ?? []).length).toBe(1 + 3 * 6 + 4);
  });
});
