// `flowc test [files]`: runs the test blocks of .flow files (directories: every .flow file in them,
// recursively) and prints, per test, pass or fail with a diff of expected and produced records.
// Exit 1 when a test failed or a file did not compile; 0 otherwise.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { hasErrors } from "../diagnostics/diagnostic.js";
import { readSource } from "../index.js";
import type { SourceFile } from "../source.js";
import { runFileTests, type TestResult } from "../test-runner/index.js";
import { colors, printDiagnostics, printProblem, type Io } from "./output.js";

export async function testCommand(paths: string[], io: Io): Promise<number> {
  const c = colors(io, "stdout");
  const files: string[] = [];
  for (const p of paths.length > 0 ? paths : ["."]) {
    try {
      files.push(...(statSync(p).isDirectory() ? flowFiles(p) : [p]));
    } catch {
      printProblem(io, `cannot read ${p}: no such file or directory`);
      return 1;
    }
  }
  let passed = 0;
  let failed = 0;
  let broken = 0;
  for (const path of files) {
    let file: SourceFile;
    try {
      file = readSource(path);
    } catch (e) {
      printProblem(io, `cannot read ${path}: ${(e as Error).message}`);
      broken++;
      continue;
    }
    const r = await runFileTests(file);
    if (hasErrors(r.diagnostics)) {
      printDiagnostics(io, r.diagnostics, [file], "pretty");
      io.stdout.write(`${c.red("✗")} ${path}: does not compile, so its tests did not run\n`);
      broken++;
      continue;
    }
    if (r.tests.length === 0) continue;
    io.stdout.write(`${c.bold(path)}\n`);
    for (const t of r.tests) {
      if (t.passed) passed++;
      else failed++;
      io.stdout.write(renderTest(t, path, c));
    }
  }
  const total = passed + failed;
  const parts = [`${passed} passed`, ...(failed > 0 ? [`${failed} failed`] : []), ...(broken > 0 ? [`${broken} file${broken === 1 ? "" : "s"} with errors`] : [])];
  io.stdout.write(total === 0 && broken === 0 ? "no tests found\n" : `\n${failed > 0 || broken > 0 ? c.red("FAIL") : c.green("ok")}: ${parts.join(", ")}\n`);
  return failed > 0 || broken > 0 ? 1 : 0;
}

function renderTest(t: TestResult, path: string, c: ReturnType<typeof colors>): string {
  if (t.passed && t.failures.length === 0) return `  ${c.green("✓")} ${t.name}\n`;
  const out = [`  ${t.passed ? c.green("✓") : c.red("✗")} ${t.name} ${c.dim(`(${path}:${t.line})`)}`];
  if (t.error) out.push(`      ${c.red(t.error)}`);
  for (const f of t.failures) out.push(`      ${c.yellow("record failed")} at ${f.where}: ${f.message}`);
  for (const s of t.sinks) {
    if (s.diff.length === 0) continue;
    const missing = s.diff.filter((d) => d.kind === "missing").length;
    const extra = s.diff.filter((d) => d.kind === "extra").length;
    out.push(`      sink \`${s.sink}\`${s.ordered ? " (ordered)" : ""}: ${s.expected.length} expected, ${s.actual.length} produced; ${c.red(`- ${missing} expected but not produced`)}, ${c.green(`+ ${extra} produced but not expected`)}`);
    for (const d of s.diff) out.push(d.kind === "same" ? `          ${d.text}` : d.kind === "missing" ? c.red(`        - ${d.text}`) : c.green(`        + ${d.text}`));
  }
  return out.join("\n") + "\n";
}

function flowFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...flowFiles(p));
    else if (e.name.endsWith(".flow")) out.push(p);
  }
  return out;
}
