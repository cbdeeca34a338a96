// Golden fixtures per phase: test/fixtures/<phase>/<case>/input.flow beside its expected output.
//   check/  → diagnostics.txt (every diagnostic, plain format)
//   errors/ → diagnostics.txt, one case per error code (the directory name starts with the code)
//   plan/   → plan.json (the execution plan)
//   emit/   → plan.ts (the emitted module), and every emitted module type-checks with tsc --noEmit
// UPDATE_GOLDEN=1 rewrites the expected files; review the diff like code.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderPlain } from "../compiler/diagnostics/render.js";
import { ALL_CODES, CODES } from "../compiler/diagnostics/codes.js";
import { analyze, compile, planOnly, SourceFile } from "../compiler/index.js";
import { expectGolden } from "./helpers/golden.js";
import { ROOT } from "./helpers/cli.js";

const FIXTURES = join(ROOT, "test/fixtures");

function cases(phase: string): string[] {
  const dir = join(FIXTURES, phase);
  return existsSync(dir) ? readdirSync(dir).filter((d) => existsSync(join(dir, d, "input.flow"))).sort() : [];
}

function source(phase: string, name: string): SourceFile {
  // A stable relative path, so goldens do not depend on where the repository is.
  // Imports resolve against the fixture's directory (some fixtures import a udfs.ts beside them).
  return new SourceFile(`${name}.flow`, readFileSync(join(FIXTURES, phase, name, "input.flow"), "utf8"), join(FIXTURES, phase, name));
}

function plainDiagnostics(file: SourceFile): string {
  return analyze(file).diagnostics.map((d) => renderPlain(d, () => file)).join("\n");
}

describe("check fixtures", () => {
  for (const name of cases("check")) {
    it(name, () => expectGolden(join(FIXTURES, "check", name, "diagnostics.txt"), plainDiagnostics(source("check", name))));
  }
});

describe("error code fixtures", () => {
  for (const name of cases("errors")) {
    it(name, () => {
      const file = source("errors", name);
      const code = name.slice(0, 8);
      const diags = analyze(file).diagnostics;
      expect(diags.map((d) => d.code), `the fixture ${name} must produce ${code}`).toContain(code);
      expectGolden(join(FIXTURES, "errors", name, "diagnostics.txt"), diags.map((d) => renderPlain(d, () => file)).join("\n"));
    });
  }

  it("every syntax, name, type and graph error code has a fixture", () => {
    const dirs = [...cases("errors"), ...cases("parse")];
    // FLOW4001 is an internal error: no valid or invalid program should produce it. FLOW2018 marks
    // constructs parsed before their runtime exists; every construct of this release runs.
    const missing = ALL_CODES.filter((c) => c !== "FLOW4001" && c !== "FLOW2018" && !dirs.some((d) => d.startsWith(c)));
    expect(missing, "codes without a fixture directory test/fixtures/{errors,parse}/<CODE>-<slug>").toEqual([]);
    expect(Object.keys(CODES).length).toBeGreaterThan(30);
  });
});

describe("plan fixtures", () => {
  for (const name of cases("plan")) {
    it(name, () => {
      const r = planOnly(source("plan", name));
      expect(r.analysis.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      expectGolden(join(FIXTURES, "plan", name, "plan.json"), JSON.stringify(r.planned!.plan, null, 2));
    });
  }
});

describe("emit fixtures", () => {
  const out = mkdtempSync(join(tmpdir(), "flowc-emit-"));
  const names = cases("emit");
  for (const name of names) {
    it(name, async () => {
      const r = await compile(source("emit", name));
      expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      expectGolden(join(FIXTURES, "emit", name, "plan.ts"), r.emitted!.ts);
      mkdirSync(join(out, name), { recursive: true });
      writeFileSync(join(out, name, "plan.ts"), r.emitted!.ts);
    });
  }

  const examples = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".flow"));
  for (const ex of examples) {
    it(`examples/${ex} emits`, async () => {
      const r = await compile(new SourceFile(`examples/${ex}`, readFileSync(join(ROOT, "examples", ex), "utf8")));
      expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
      mkdirSync(join(out, `example-${ex}`), { recursive: true });
      writeFileSync(join(out, `example-${ex}`, "plan.ts"), r.emitted!.ts);
    });
  }

  it("every emitted plan (fixtures and examples) type-checks with tsc --noEmit", () => {
    expect(names.length).toBeGreaterThan(0);
    writeFileSync(
      join(out, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "esnext", moduleResolution: "bundler", types: [], paths: { "flowc/runtime": [join(ROOT, "runtime/plan.ts")] } },
        include: ["*/plan.ts"],
      }),
    );
    const tsc = join(ROOT, "node_modules/.bin/tsc");
    let output = "";
    try {
      execFileSync(tsc, ["-p", join(out, "tsconfig.json")], { encoding: "utf8" });
    } catch (e) {
      output = (e as { stdout: string }).stdout;
    }
    expect(output).toBe("");
  });
});
