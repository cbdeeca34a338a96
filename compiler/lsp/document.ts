// One open .flow document as the language server sees it: its text, the compiler's analysis of it
// (parse with recovery, then check), and what the features derive from that, computed on first use
// and kept until the text changes: the symbol table, and the execution plan (only for a program
// without errors).
import { fileURLToPath } from "node:url";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Position, Range } from "vscode-languageserver";
import type { Span } from "../ast.js";
import { hasErrors } from "../diagnostics/diagnostic.js";
import { analyze, type Analysis } from "../index.js";
import { plan, type PlannedProgram } from "../phases/3-plan/index.js";
import { symbolsOf, type SymbolTable } from "../query/symbols.js";
import { SourceFile } from "../source.js";

export function pathOfUri(uri: string): string {
  try {
    return uri.startsWith("file:") ? fileURLToPath(uri) : uri;
  } catch {
    return uri;
  }
}

export class FlowDocument {
  readonly file: SourceFile;
  readonly analysis: Analysis;
  private symbolTable: SymbolTable | undefined;
  private planned: PlannedProgram | null | undefined;

  /** A snapshot of the text: the editor's document changes under us, this one does not. */
  private readonly doc: TextDocument;

  constructor(
    uri: string,
    readonly version: number,
    text: string,
  ) {
    this.doc = TextDocument.create(uri, "flow", version, text);
    this.file = new SourceFile(pathOfUri(uri), text);
    this.analysis = analyze(this.file);
  }

  get uri(): string {
    return this.doc.uri;
  }

  get text(): string {
    return this.file.text;
  }

  get symbols(): SymbolTable {
    this.symbolTable ??= symbolsOf(this.analysis.program);
    return this.symbolTable;
  }

  /** The execution plan, when the program has no errors (the planner needs a valid program). */
  get plan(): PlannedProgram | undefined {
    if (this.planned === undefined) {
      this.planned = null;
      if (!hasErrors(this.analysis.diagnostics)) {
        try {
          this.planned = plan(this.analysis.checked);
        } catch {
          this.planned = null;
        }
      }
    }
    return this.planned ?? undefined;
  }

  offset(p: Position): number {
    return this.doc.offsetAt(p);
  }

  position(offset: number): Position {
    return this.doc.positionAt(offset);
  }

  range(span: Span): Range {
    return { start: this.doc.positionAt(span.start), end: this.doc.positionAt(span.end) };
  }
}
