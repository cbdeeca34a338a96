// One diagnostic, three renderings: a code frame for people (rustc/Elm style), a plain
// `file:line:col: error FLOW2001: message` line for tools and problem matchers, and JSON.
import { codeFrameColumns } from "@babel/code-frame";
import pc from "picocolors";
import type { SourceFile } from "../source.js";
import type { Diagnostic } from "./diagnostic.js";

export type DiagnosticFormat = "pretty" | "plain" | "json";

/** Looks up the text of a diagnostic's file; returns undefined for a file it cannot show. */
export type SourceLookup = (path: string) => SourceFile | undefined;

export function renderPlain(d: Diagnostic, lookup: SourceLookup): string {
  const src = lookup(d.file);
  const pos = src ? src.position(d.span.start) : { line: 1, column: 1 };
  const hints = d.hints.map((h) => ` (help: ${h})`).join("");
  return `${d.file}:${pos.line}:${pos.column}: ${d.severity} ${d.code}: ${d.message}${hints}`;
}

export function renderPretty(d: Diagnostic, lookup: SourceLookup, color: boolean): string {
  const c = pc.createColors(color);
  const src = lookup(d.file);
  const sevColor = d.severity === "error" ? c.red : c.yellow;
  const out: string[] = [];
  out.push(`${c.bold(sevColor(`${d.severity}[${d.code}]`))}${c.bold(`: ${d.message}`)}`);
  if (src) {
    const start = src.position(d.span.start);
    const end = src.position(Math.max(d.span.start + 1, d.span.end));
    out.push(`${c.blue(" -->")} ${d.file}:${start.line}:${start.column}`);
    out.push(frame(src, d.span.start, d.span.end, d.label, color));
    for (const l of d.labels) {
      const lsrc = lookup(l.file ?? d.file);
      if (!lsrc) continue;
      const lp = lsrc.position(l.span.start);
      out.push(`${c.blue(" -->")} ${l.file ?? d.file}:${lp.line}:${lp.column}`);
      out.push(frame(lsrc, l.span.start, l.span.end, l.message, color));
    }
    void end;
  } else {
    out.push(`${c.blue(" -->")} ${d.file}`);
  }
  for (const h of d.hints) out.push(`${c.blue("  = help:")} ${h}`);
  return out.join("\n");
}

function frame(src: SourceFile, startOffset: number, endOffset: number, message: string | undefined, color: boolean): string {
  const start = src.position(startOffset);
  // A zero-width span (something missing) still gets one caret.
  const end = src.position(Math.max(endOffset, startOffset + 1));
  const loc =
    start.line === end.line
      ? { start, end: { line: end.line, column: Math.max(end.column, start.column + 1) } }
      : { start, end };
  return codeFrameColumns(src.text, loc, {
    highlightCode: false,
    forceColor: color,
    linesAbove: 1,
    linesBelow: 0,
    ...(message ? { message } : {}),
  });
}

export function toJson(d: Diagnostic, lookup: SourceLookup): object {
  const src = lookup(d.file);
  const pos = (o: number) => (src ? src.position(o) : { line: 1, column: 1 });
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    file: d.file,
    start: { offset: d.span.start, ...pos(d.span.start) },
    end: { offset: d.span.end, ...pos(d.span.end) },
    ...(d.label ? { label: d.label } : {}),
    labels: d.labels.map((l) => ({ file: l.file ?? d.file, message: l.message, start: { offset: l.span.start, ...pos(l.span.start) }, end: { offset: l.span.end, ...pos(l.span.end) } })),
    hints: d.hints,
  };
}

export function renderDiagnostics(diags: readonly Diagnostic[], lookup: SourceLookup, format: DiagnosticFormat, color = false): string {
  if (format === "json") return JSON.stringify(diags.map((d) => toJson(d, lookup)), null, 2);
  if (format === "plain") return diags.map((d) => renderPlain(d, lookup)).join("\n");
  return diags.map((d) => renderPretty(d, lookup, color)).join("\n\n");
}

/** "2 errors, 1 warning" */
export function summarize(diags: readonly Diagnostic[]): string {
  const e = diags.filter((d) => d.severity === "error").length;
  const w = diags.length - e;
  const parts: string[] = [];
  if (e) parts.push(`${e} error${e === 1 ? "" : "s"}`);
  if (w) parts.push(`${w} warning${w === 1 ? "" : "s"}`);
  return parts.join(", ");
}
