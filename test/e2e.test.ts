// End to end through the `flowc` command: every example compiles and runs, the word counts match
// an independent count and do not depend on the number of partitions, the socket word count reads
// from a server the test runs, bad records are reported and skipped, and exit codes follow tsc.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flowc, flowcAsync, ROOT } from "./helpers/cli.js";

const EXAMPLES = join(ROOT, "examples");
let work: string;

beforeAll(() => {
  // Each run works on a copy, so outputs never land in the repository.
  work = mkdtempSync(join(tmpdir(), "flowc-e2e-"));
  cpSync(EXAMPLES, join(work, "examples"), { recursive: true, filter: (src) => !src.includes(`${join(EXAMPLES, "out")}`) });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Reads every part file of a csv sink directory into rows keyed by header. */
function readCsvDir(dir: string): Record<string, string>[] {
  const rows: Record<string, string>[] = [];
  for (const f of readdirSync(dir).filter((x) => x.startsWith("part-")).sort()) {
    const lines = readFileSync(join(dir, f), "utf8").split("\n").filter((l) => l !== "");
    if (lines.length === 0) continue;
    const header = lines[0]!.split(",");
    for (const l of lines.slice(1)) {
      const cells = l.split(",");
      rows.push(Object.fromEntries(header.map((h, i) => [h, cells[i]!])));
    }
  }
  return rows;
}

function readJsonlDir(dir: string): Record<string, unknown>[] {
  return readdirSync(dir)
    .filter((x) => x.startsWith("part-"))
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)));
}

/** Word totals summed over windows. */
function totals(rows: Record<string, string>[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) m.set(r.key!, (m.get(r.key!) ?? 0) + Number(r.count));
  return m;
}

/** The reference: the same tokenisation done directly. */
function referenceCounts(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) for (const w of line.toLowerCase().split(/[^a-z']+/)) if (w !== "") m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));

describe("examples/wordcount-file.flow", () => {
  it("counts every word of the file, identically with 1 and 4 partitions", () => {
    const file = join(work, "examples/wordcount-file.flow");
    const expected = referenceCounts(readFileSync(join(work, "examples/data/alice.txt"), "utf8"));
    const results = [];
    for (const p of [1, 4]) {
      const r = flowc(["run", file, "--partitions", String(p)]);
      expect(r.stderr).toContain(`(${p} partition`);
      expect(r.code).toBe(0);
      const out = join(work, "examples/out/wordcount-file");
      expect(readdirSync(out).filter((f) => f.startsWith("part-")).length).toBe(p);
      results.push(totals(readCsvDir(out)));
    }
    expect(sorted(results[0]!)).toEqual(sorted(expected));
    expect(sorted(results[1]!)).toEqual(sorted(expected));
    expect(expected.get("alice")).toBeGreaterThan(5);
  });

  it("ends with a summary of records in and out, bad records and throughput", () => {
    const r = flowc(["run", join(work, "examples/wordcount-file.flow"), "--progress", "none"]);
    expect(r.code).toBe(0);
    const lines = readFileSync(join(work, "examples/data/alice.txt"), "utf8").split("\n").length - 1;
    expect(r.stderr).toMatch(/Finished wordcount_file in [\d.]+ s \(4 partitions\)/);
    expect(r.stderr).toContain(`records in:   ${lines} (lines: ${lines})`);
    expect(r.stderr).toMatch(/records out:  \d+/);
    expect(r.stderr).toContain("bad records:  0");
    expect(r.stderr).toMatch(/throughput: +[\d,]+ records\/s/);
  });

  it("prints plain progress lines when not on a terminal", () => {
    const r = flowc(["run", join(work, "examples/wordcount-file.flow"), "--progress", "lines", "--progress-interval", "1"]);
    expect(r.code).toBe(0);
    // The file is small: the job may end before the first line is due, but no bar escape codes appear.
    expect(r.stderr).not.toContain("\u001b[");
  });
});

describe("examples/wordcount.flow (socket)", () => {
  let server: Server;
  let port = 0;
  const text = readFileSync(join(EXAMPLES, "data/alice.txt"), "utf8");

  beforeAll(async () => {
    server = createServer((sock) => {
      // Written in small pieces so lines arrive split across TCP reads.
      const chunks = text.match(/[\s\S]{1,37}/g)!;
      let i = 0;
      const next = () => (i < chunks.length ? sock.write(chunks[i++]!, next) : sock.end());
      next();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("counts the words a TCP server sends, identically with 1 and 4 partitions", async () => {
    const src = readFileSync(join(EXAMPLES, "wordcount.flow"), "utf8");
    expect(src).toContain('socket("localhost", 9999)');
    const file = join(work, "examples/wordcount-socket-test.flow");
    writeFileSync(file, src.replace('socket("localhost", 9999)', `socket("127.0.0.1", ${port})`));
    const expected = sorted(referenceCounts(text));
    for (const p of [1, 4]) {
      const r = await flowcAsync(["run", file, "--partitions", String(p), "--progress", "none"]);
      expect(r.stderr).toContain("Finished wordcount");
      expect(r.code).toBe(0);
      expect(sorted(totals(readCsvDir(join(work, "examples/out/wordcount"))))).toEqual(expected);
    }
  });

  it("says how to start a server when nothing listens", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const closed = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const file = join(work, "examples/wordcount-refused.flow");
    writeFileSync(file, readFileSync(join(EXAMPLES, "wordcount.flow"), "utf8").replace("9999", String(closed)));
    const r = await flowcAsync(["run", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot connect");
    expect(r.stderr).toContain("wordcount-refused.flow:9");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("examples/clicks.flow (jsonl records)", () => {
  it("reports the two malformed lines with their positions, skips them, and aggregates the rest", () => {
    const r = flowc(["run", join(work, "examples/clicks.flow"), "--progress", "none"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/bad record at data\/clicks\.jsonl:18 \(source `clicks`\)/);
    expect(r.stderr).toMatch(/bad record at data\/clicks\.jsonl:43 \(source `clicks`\): .*ms/);
    expect(r.stderr).toContain("bad records:  2");
    const lines = readFileSync(join(work, "examples/data/clicks.jsonl"), "utf8").split("\n").filter((l) => l);
    const good = lines.flatMap((l) => {
      try {
        const v = JSON.parse(l);
        return typeof v.ms === "number" ? [v] : [];
      } catch {
        return [];
      }
    });
    const pages = readJsonlDir(join(work, "examples/out/pages")) as { key: string; visits: number; totalMs: number; slowest: number }[];
    const visits = new Map<string, number>();
    for (const p of pages) visits.set(p.key, (visits.get(p.key) ?? 0) + p.visits);
    const expected = new Map<string, number>();
    for (const g of good) expected.set(g.url, (expected.get(g.url) ?? 0) + 1);
    expect(sorted(visits)).toEqual(sorted(expected));
    const slow = readCsvDir(join(work, "examples/out/slow"));
    expect(slow.length).toBe(good.filter((g) => g.ms > 1000).length);
    expect(slow.every((s) => Number(s.seconds) > 1)).toBe(true);
  });
});

describe("every example", () => {
  const examples = readdirSync(EXAMPLES).filter((f) => f.endsWith(".flow"));
  it.each(examples)("%s checks and compiles, and the plan type-checks", (name) => {
    const out = mkdtempSync(join(tmpdir(), "flowc-compile-"));
    const c = flowc(["check", join(EXAMPLES, name)]);
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    const r = flowc(["compile", join(EXAMPLES, name), "-o", out]);
    expect(r.code).toBe(0);
    const files = readdirSync(out);
    expect(files.some((f) => f.endsWith(".plan.ts"))).toBe(true);
    expect(files.some((f) => f.endsWith(".plan.js"))).toBe(true);
  });
});

describe("the CLI", () => {
  it("runs stdin to stdout, and a compiled .plan.js gives the same output as the .flow file", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-cli-"));
    const file = join(dir, "upper.flow");
    writeFileSync(file, 'source lines: string = stdin()\n\nlines\n  |> filter(l => l != "")\n  |> map(l => { text: upper(l), n: len(l) })\n  |> sink stdout()\n');
    const input = "hello\n\nflow\n";
    const a = flowc(["run", file, "-q"], { input });
    expect(a.code).toBe(0);
    expect(a.stdout).toBe('{"text":"HELLO","n":5}\n{"text":"FLOW","n":4}\n');
    expect(flowc(["compile", file, "-o", join(dir, "build")]).code).toBe(0);
    const b = flowc(["run", join(dir, "build/upper.plan.js"), "-q"], { input });
    expect(b.stdout).toBe(a.stdout);
  });

  it("reports a record that fails at run time with its position and goes on", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-cli-"));
    const file = join(dir, "ints.flow");
    writeFileSync(file, "source lines: string = stdin()\n\nlines\n  |> map(l => toInt(l) * 2)\n  |> sink stdout()\n");
    const r = flowc(["run", file, "--progress", "none"], { input: "1\nx\n3\n" });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("2\n6\n");
    expect(r.stderr).toContain('record failed at ints.flow:4: toInt: "x" is not a whole number');
    expect(r.stderr).toContain("failed records: 1");
  });

  it("generate gives the same records every run", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-cli-"));
    const file = join(dir, "gen.flow");
    writeFileSync(file, "source n: int = generate(count: 1000)\n\nn\n  |> keyBy(x => x % 10)\n  |> sum(x => x)\n  |> sink stdout()\n");
    const a = flowc(["run", file, "-q", "-p", "3"]);
    expect(a.code).toBe(0);
    const last = new Map<number, number>();
    for (const l of a.stdout.trim().split("\n")) {
      const r = JSON.parse(l) as { key: number; sum: number };
      last.set(r.key, Math.max(last.get(r.key) ?? 0, r.sum));
    }
    // 0..999: the numbers ending in k sum to 100k + 10 * (0 + 10 + ... + 990) = 100k + 49500.
    for (let k = 0; k < 10; k++) expect(last.get(k)).toBe(100 * k + 49500);
  });

  it("exit codes: 1 for errors in the program, 2 for usage, 0 for help", () => {
    const bad = flowc(["check", join(ROOT, "test/fixtures/errors/FLOW2002-unknown-operator/input.flow")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("error[FLOW2002]: I cannot find an operator named `fitler`.");
    expect(bad.stderr).toContain("help: did you mean `filter`?");
    expect(bad.stderr).toMatch(/4 \|\s+\|> fitler/);
    expect(flowc(["frobnicate"]).code).toBe(2);
    expect(flowc(["run"]).code).toBe(2);
    expect(flowc(["run", "x.flow", "--partitions", "zero"]).code).toBe(2);
    expect(flowc(["--help"]).code).toBe(0);
    const missing = flowc(["check", "no/such/file.flow"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no such file");
  });

  it("--format plain and json for tools", () => {
    const f = join(ROOT, "test/fixtures/errors/FLOW2005-unknown-field/input.flow");
    const plain = flowc(["check", f, "--format", "plain"]);
    expect(plain.stderr).toMatch(/input\.flow:6:17: error FLOW2005: The type `Click` has no field named `usr`\. \(help: did you mean `user`\?\)/);
    const json = JSON.parse(flowc(["check", f, "--format", "json"]).stdout);
    expect(json[0]).toMatchObject({ code: "FLOW2005", severity: "error", start: { line: 6, column: 17 }, hints: ["did you mean `user`?"] });
  });

  it("explain shows stages, the fused chain, the hash exchange and partitions", () => {
    const r = flowc(["explain", join(EXAMPLES, "wordcount.flow")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("partitions: 4");
    expect(r.stdout).toMatch(/chain \[flatMap@12, filter@13, keyBy@14\] fused, keyed output/);
    expect(r.stdout).toContain("← hash exchange from chain_flatMap_filter_keyBy_");
    expect(r.stdout).toMatch(/tumbling 10000 ms, processing time/);
    expect(JSON.parse(flowc(["explain", join(EXAMPLES, "wordcount.flow"), "--format", "json"]).stdout).nodes).toHaveLength(4);
  });

  it("writes nothing into examples/ when compiling elsewhere", () => {
    expect(existsSync(join(EXAMPLES, "wordcount.plan.js"))).toBe(false);
  });
});
