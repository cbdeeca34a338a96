// A diagnostic is data: a code, a span in a file, a message for the person, optional labels on
// related spans and hints. Rendering (code frame, plain line, JSON) is in render.ts.
import type { Span } from "../ast.js";
import { CODES, type Code } from "./codes.js";

export type Severity = "error" | "warning";

export interface Label {
  span: Span;
  message: string;
  /** The file of a label that points into another file (an imported UDF); default the diagnostic's file. */
  file?: string;
}

export interface Diagnostic {
  code: Code;
  severity: Severity;
  /** The whole message, written for the person: what is wrong, and where. */
  message: string;
  file: string;
  span: Span;
  /** A short text shown under the caret of the primary span. */
  label?: string;
  labels: Label[];
  /** `help: ...` lines: the likely fix. */
  hints: string[];
}

export interface DiagnosticOptions {
  label?: string;
  labels?: Label[];
  hints?: string[];
  severity?: Severity;
}

export function diagnostic(code: Code, file: string, span: Span, message: string, opts: DiagnosticOptions = {}): Diagnostic {
  return {
    code,
    severity: opts.severity ?? CODES[code].severity,
    message,
    file,
    span,
    ...(opts.label === undefined ? {} : { label: opts.label }),
    labels: opts.labels ?? [],
    hints: opts.hints ?? [],
  };
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === "error");
}

/** Sorted by file and position, so output is stable. */
export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  return [...diags].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.span.start - b.span.start || a.code.localeCompare(b.code)));
}
