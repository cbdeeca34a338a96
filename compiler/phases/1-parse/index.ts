// Phase 1, parse: takes a SourceFile and returns its Program (the AST of ../../ast.ts, partial
// after syntax errors, with Missing nodes and names "" where pieces are absent) plus the
// FLOW1xxx syntax diagnostics, sorted by position. Never throws; nesting too deep for the later
// phases' stacks is cut off here (nesting.ts).
import type { Program } from "../../ast.js";
import { diagnostic, sortDiagnostics, type Diagnostic } from "../../diagnostics/diagnostic.js";
import type { SourceFile } from "../../source.js";
import { parseTokens } from "../../../grammar/parser.js";
import { tokenize } from "../../../grammar/tokens.js";
import { limitBrackets, limitDepth } from "./nesting.js";

export { printAst } from "./print-ast.js";

export function parse(file: SourceFile): { program: Program; diagnostics: Diagnostic[] } {
  try {
    const lexed = tokenize(file.text, file.path);
    const brackets = limitBrackets(lexed.tokens, file.text, file.path);
    const parsed = parseTokens({ ...lexed, tokens: brackets.tokens }, file.text, file.path);
    const depth = limitDepth(parsed.program, file.path);
    return { program: parsed.program, diagnostics: sortDiagnostics([...lexed.diagnostics, ...brackets.diagnostics, ...parsed.diagnostics, ...depth]) };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return {
      program: { kind: "program", items: [], comments: [], span: { start: 0, end: file.text.length } },
      diagnostics: [
        diagnostic("FLOW4001", file.path, { start: 0, end: 0 }, `The parser failed on this file: ${message}. This is a bug in flowc, not in your program.`, {
          hints: ["please report it with the file attached"],
        }),
      ],
    };
  }
}
