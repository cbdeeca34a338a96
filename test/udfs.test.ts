// Imported TypeScript functions (UDFs) end to end through `flowc`: a job calls them (and a module
// they import), a record on which one throws is reported with the call's position and skipped,
// `--fail-on-error` and `failOnError: true` stop the job instead, and `flowc compile` writes the
// transpiled modules the .js plan imports, so `flowc run NAME.plan.js` works under plain Node.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { analyze, SourceFile } from "../compiler/index.js";
import { flowc, ROOT } from "./helpers/cli.js";

let work: string;
const INPUT = "s1,20,C\ns2,oops\ns3,150\ns4,0.5\n";

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "flowc-udf-"));
  cpSync(join(ROOT, "test/fixtures/udf-run"), work, { recursive: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const lines = (s: string) => s.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));

describe("reading the module", () => {
  it("reads it again when the module or a module it imports changed", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-udf-cache-"));
    try {
      writeFileSync(join(dir, "types.ts"), "export type Label = string;\n");
      writeFileSync(join(dir, "udfs.ts"), 'import type { Label } from "./types.ts";\nexport function tag(s: string): Label { return s; }\n');
      const file = new SourceFile(join(dir, "job.flow"), 'import { tag } from "./udfs.ts"\nsource lines: string = stdin()\nlines |> map(l => tag(l)) |> sink stdout()\n');
      expect(analyze(file).diagnostics).toEqual([]);
      // The imported module changes (a later mtime): the result type no longer maps to Flow.
      writeFileSync(join(dir, "types.ts"), "export type Label = string | number;\n");
      utimesSync(join(dir, "types.ts"), new Date(), new Date(Date.now() + 5000));
      expect(analyze(file).diagnostics.map((d) => d.code)).toEqual(["FLOW2032"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a job calling imported functions", () => {
  it("calls them with the right arguments and uses their results", () => {
    const r = flowc(["run", join(work, "readings.flow"), "--progress", "none"], { input: "s1,20,C\ns3,150\n" });
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    // s3's value is clamped by lib/math.ts, a module the UDF module imports.
    expect(lines(r.stdout)).toEqual([
      { text: "s1=20.00C", unit: "C" },
      { text: "s3=100.00", unit: "-" },
    ]);
  });

  it("reports a record on which a function throws, with the call's position, skips it and goes on", () => {
    const r = flowc(["run", join(work, "readings.flow"), "--progress", "none"], { input: INPUT });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: record failed at readings.flow:6:15: parseReading threw: not a reading: "s2,oops"');
    expect(r.stderr).toContain('    "s2,oops"');
    expect(r.stderr).toMatch(/failed records: 1/);
    expect(lines(r.stdout).map((x) => x.text)).toEqual(["s1=20.00C", "s3=100.00"]);
  });

  it("stops the job at the first failed record with --fail-on-error (exit 1)", () => {
    const r = flowc(["run", join(work, "readings.flow"), "--progress", "none", "--fail-on-error"], { input: INPUT });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: a record failed at readings.flow:6:15: parseReading threw: not a reading: "s2,oops"');
    expect(r.stderr).toContain("--> readings.flow:6:15");
    expect(r.stderr).not.toContain("Finished");
  });

  it("stops the job with `failOnError: true` in the config", () => {
    const r = flowc(["run", join(work, "readings-strict.flow"), "--progress", "none"], { input: INPUT });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("a record failed at readings-strict.flow:9:19: parseReading threw");
  });

  it("flowc compile writes JavaScript copies of the modules, and the .js plan runs from anywhere", () => {
    const out = join(work, "compiled");
    const c = flowc(["compile", join(work, "readings.flow"), "-o", out]);
    expect(c.code).toBe(0);
    const ts = readFileSync(join(out, "readings.plan.ts"), "utf8");
    expect(ts).toContain('import { parseReading, label } from "../udfs.ts";');
    expect(ts).toContain('$udf("readings.flow:6:15", parseReading, r0)'.replace("r0", "l"));
    expect(readFileSync(join(out, "readings.plan.js"), "utf8")).toContain('from "./readings.plan.udfs/udfs.js"');
    expect(readFileSync(join(out, "readings.plan.udfs/udfs.js"), "utf8")).toContain('from "./lib/math.js"');
    expect(existsSync(join(out, "readings.plan.udfs/lib/math.js"))).toBe(true);
    // The readable plan type-checks against the UDF module's own declarations.
    writeFileSync(
      join(work, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "esnext", moduleResolution: "bundler", allowImportingTsExtensions: true, lib: ["es2023"], types: [], paths: { "flowc/runtime": [join(ROOT, "runtime/plan.ts")] } },
        include: ["compiled/*.plan.ts"],
      }),
    );
    let tscOutput = "";
    try {
      execFileSync(join(ROOT, "node_modules/.bin/tsc"), ["-p", join(work, "tsconfig.json")], { encoding: "utf8" });
    } catch (e) {
      tscOutput = (e as { stdout: string }).stdout;
    }
    expect(tscOutput).toBe("");
    rmSync(join(work, "udfs.ts"), { force: false });
    try {
      const r = flowc(["run", join(out, "readings.plan.js"), "--progress", "none"], { input: "s1,20,C\n" });
      expect(r.code).toBe(0);
      expect(lines(r.stdout)).toEqual([{ text: "s1=20.00C", unit: "C" }]);
    } finally {
      cpSync(join(ROOT, "test/fixtures/udf-run/udfs.ts"), join(work, "udfs.ts"));
    }
  });
});
