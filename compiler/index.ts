// The compiler as four phases: parse → check → plan → emit. Each takes the previous phase's result
// and returns the next plus diagnostics; a phase runs only when the ones before found no errors
// (parse and check always both run, so one run reports every syntax and type error it can).
import { diagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "./diagnostics/diagnostic.js";
import { parse } from "./phases/1-parse/index.js";
import { check, type CheckedProgram } from "./phases/2-check/index.js";
import { plan, type PlannedProgram } from "./phases/3-plan/index.js";
import { emit, type EmitOptions, type EmittedPlan } from "./phases/4-emit/index.js";
import { SourceFile } from "./source.js";
import type { Program } from "./ast.js";

export { readSource, SourceFile } from "./source.js";
export type { Diagnostic } from "./diagnostics/diagnostic.js";

export interface Analysis {
  file: SourceFile;
  program: Program;
  checked: CheckedProgram;
  diagnostics: Diagnostic[];
}

/** Parse and check: everything an editor or `flowc check` needs. Never throws for user input. */
export function analyze(file: SourceFile): Analysis {
  const parsed = parse(file);
  let diagnostics = parsed.diagnostics;
  let checked: CheckedProgram;
  try {
    const r = check(file, parsed.program);
    checked = r.checked;
    // After syntax errors the checker sees a partial tree: keep its findings, except those about
    // the holes the parser left (they would only repeat the syntax error).
    diagnostics = diagnostics.concat(hasErrors(parsed.diagnostics) ? r.diagnostics.filter((d) => !insideAny(d, parsed.diagnostics)) : r.diagnostics);
  } catch (e) {
    checked = check(file, { ...parsed.program, items: [] }).checked;
    diagnostics = diagnostics.concat(internalError(file, e));
  }
  return { file, program: parsed.program, checked, diagnostics: sortDiagnostics(diagnostics) };
}

function insideAny(d: Diagnostic, syntax: Diagnostic[]): boolean {
  return syntax.some((s) => d.span.start >= s.span.start && d.span.end <= Math.max(s.span.end, s.span.start + 1) && d.span.start !== d.span.end);
}

function internalError(file: SourceFile, e: unknown): Diagnostic {
  const msg = e instanceof Error ? e.message : String(e);
  return diagnostic("FLOW4001", file.path, { start: 0, end: 0 }, `The compiler failed on this file: ${msg}. This is a bug in flowc, not in your program.`, {
    hints: ["please report it with the file attached"],
  });
}

export interface CompileResult extends Analysis {
  planned?: PlannedProgram;
  emitted?: EmittedPlan;
}

/** All four phases. `planned` and `emitted` are set when there were no errors. */
export async function compile(file: SourceFile, opts: EmitOptions = {}): Promise<CompileResult> {
  const a = analyze(file);
  if (hasErrors(a.diagnostics)) return a;
  try {
    const planned = plan(a.checked);
    const emitted = await emit(planned, opts);
    return { ...a, planned, emitted };
  } catch (e) {
    return { ...a, diagnostics: a.diagnostics.concat(internalError(file, e)) };
  }
}

/** Plan without emitting (explain). */
export function planOnly(file: SourceFile): { analysis: Analysis; planned?: PlannedProgram } {
  const a = analyze(file);
  if (hasErrors(a.diagnostics)) return { analysis: a };
  try {
    return { analysis: a, planned: plan(a.checked) };
  } catch (e) {
    return { analysis: { ...a, diagnostics: a.diagnostics.concat(internalError(file, e)) } };
  }
}

