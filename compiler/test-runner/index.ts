// Runs the `test "name" { given ... expect ... }` blocks of a .flow file: compiles the file once,
// then runs its plan on the runtime once per test, with the given records in place of the named
// sources (other sources give nothing), collecting what reaches every named sink (nothing is
// written anywhere), and compares it with the expected records: as a multiset, or in order with
// `expect ordered`. Tests run with one partition, so the order of a sink's records is deterministic.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type * as A from "../ast.js";
import { hasErrors, type Diagnostic } from "../diagnostics/diagnostic.js";
import { compile } from "../index.js";
import { evalConst } from "../phases/2-check/constants.js";
import type { SourceFile } from "../source.js";
import { loadEmitted } from "../cli/load-plan.js";
import { Job, JobError, type RecordFailure } from "../../runtime/exec/job.js";
import { fromJson } from "../../runtime/connectors/validate.js";
import type { ConstValue } from "../../runtime/plan.js";
import { diffRecords, type DiffLine } from "./diff.js";

export interface SinkResult {
  sink: string;
  ordered: boolean;
  expected: unknown[];
  actual: unknown[];
  /** Empty when they match. */
  diff: DiffLine[];
}

export interface TestResult {
  name: string;
  line: number;
  passed: boolean;
  sinks: SinkResult[];
  /** A problem that kept the test from running or comparing (a given record of the wrong type, a job error). */
  error?: string;
  /** Records that failed inside an operator while the test ran (reported, skipped). */
  failures: RecordFailure[];
}

export interface FileTestResult {
  file: SourceFile;
  /** Compile errors (then no test ran). */
  diagnostics: Diagnostic[];
  tests: TestResult[];
}

export async function runFileTests(file: SourceFile): Promise<FileTestResult> {
  const dir = mkdtempSync(join(tmpdir(), "flowc-test-"));
  try {
    const r = await compile(file, { outDir: dir, sourceDir: dirname(resolve(file.path)) });
    const blocks = r.program.items.filter((i): i is A.TestDecl => i.kind === "test");
    if (hasErrors(r.diagnostics) || !r.emitted) return { file, diagnostics: r.diagnostics, tests: [] };
    if (blocks.length === 0) return { file, diagnostics: r.diagnostics, tests: [] };
    const { mod } = await loadEmitted(r.emitted, dir);
    const consts = (n: string) => r.checked.constants.get(n)?.value;
    const tests: TestResult[] = [];
    for (const t of blocks) tests.push(await runTest(file, t, mod, consts, r.checked.sources));
    return { file, diagnostics: r.diagnostics, tests };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runTest(
  file: SourceFile,
  t: A.TestDecl,
  mod: Awaited<ReturnType<typeof loadEmitted>>["mod"],
  consts: (n: string) => ConstValue | undefined,
  sources: Map<string, { type: import("../../runtime/types.js").FlowType }>,
): Promise<TestResult> {
  const result: TestResult = { name: t.name.value, line: file.position(t.span.start).line, passed: false, sinks: [], failures: [] };
  // Every source gives nothing unless the test gives it records.
  const overrides: Record<string, unknown[]> = {};
  for (const n of mod.plan.nodes) if (n.kind === "source") overrides[n.name] = [];
  for (const s of t.body) {
    if (s.kind !== "given") continue;
    const values = evalConst(s.value, consts);
    const type = sources.get(s.source.name)?.type;
    if (!Array.isArray(values) || !type) return { ...result, error: `the records given to \`${s.source.name}\` must be a constant array` };
    const records: unknown[] = [];
    for (let i = 0; i < values.length; i++) {
      const c = fromJson(values[i], type);
      if (!c.ok) return { ...result, error: `given record ${i + 1} of \`${s.source.name}\` does not fit the source's type: ${c.message}` };
      records.push(c.value);
    }
    overrides[s.source.name] = records;
  }
  const collected = new Map<string, unknown[]>();
  const job = new Job(mod, {
    partitions: 1,
    sourceOverrides: overrides,
    sinkOverride: (node) => {
      const list: unknown[] = [];
      if (node.name) collected.set(node.name, list);
      return { write: (rs) => void list.push(...rs), ready: () => undefined, close: async () => {} };
    },
    reporter: { recordFailed: (f) => void result.failures.push(f) },
  });
  try {
    await job.open();
    await job.run();
  } catch (e) {
    return { ...result, error: e instanceof JobError ? e.message : `the job failed: ${(e as Error)?.message ?? String(e)}` };
  }
  for (const s of t.body) {
    if (s.kind !== "expect") continue;
    const expected = evalConst(s.value, consts);
    if (!Array.isArray(expected)) return { ...result, error: `the records expected at \`${s.sink.name}\` must be a constant array` };
    const actual = collected.get(s.sink.name) ?? [];
    result.sinks.push({ sink: s.sink.name, ordered: s.ordered, expected, actual, diff: diffRecords(expected, actual, s.ordered) });
  }
  result.passed = result.sinks.every((x) => x.diff.length === 0);
  return result;
}
