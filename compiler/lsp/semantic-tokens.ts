// Semantic tokens: every token of the file classified by what it is, not only how it looks: a
// name is a type, a stream, a constant, a lambda parameter, a field, a built-in function, an
// operator or a connector, as the symbol table and the tree say. Encoded as LSP wants (relative
// lines and columns, one token per line: block comments over several lines are cut at line ends).
import type { SemanticTokens, SemanticTokensLegend } from "vscode-languageserver";
import type * as A from "../ast.js";
import { BUILTIN_MAP } from "../builtins.js";
import { walk, type AstNode } from "../query/nodes.js";
import { metaOf, tokenize } from "../../grammar/tokens.js";
import type { FlowDocument } from "./document.js";

export const TOKEN_TYPES = ["keyword", "type", "struct", "parameter", "variable", "property", "function", "method", "namespace", "string", "number", "operator", "comment", "event"] as const;
export const TOKEN_MODIFIERS = ["declaration", "readonly", "defaultLibrary"] as const;

export const legend: SemanticTokensLegend = { tokenTypes: [...TOKEN_TYPES], tokenModifiers: [...TOKEN_MODIFIERS] };

type TokenType = (typeof TOKEN_TYPES)[number];
type Modifier = (typeof TOKEN_MODIFIERS)[number];

interface Classified {
  type: TokenType;
  modifiers: Modifier[];
}

/** What each identifier of the tree is, by its position. */
function classifyNames(d: FlowDocument): Map<number, Classified> {
  const out = new Map<number, Classified>();
  const set = (id: A.Ident, type: TokenType, ...modifiers: Modifier[]) => {
    if (id.name !== "") out.set(id.span.start, { type, modifiers });
  };
  for (const s of d.symbols.symbols) {
    const kinds: Record<string, Classified> = {
      type: { type: "struct", modifiers: [] },
      const: { type: "variable", modifiers: ["readonly"] },
      source: { type: "event", modifiers: [] },
      stream: { type: "event", modifiers: [] },
      udf: { type: "function", modifiers: [] },
      sink: { type: "event", modifiers: [] },
      param: { type: "parameter", modifiers: [] },
    };
    const c = kinds[s.kind]!;
    set(s.decl, c.type, "declaration", ...c.modifiers);
    for (const r of s.refs) set(r, c.type, ...c.modifiers);
  }
  walk(d.analysis.program, (n: AstNode, parent) => {
    switch (n.kind) {
      case "namedType":
        if (!out.has(n.name.span.start)) set(n.name, "type", "defaultLibrary");
        break;
      case "member":
        set(n.property, "property");
        break;
      case "fieldInit":
      case "fieldType":
        set(n.name, "property", ...(n.kind === "fieldType" ? (["declaration"] as Modifier[]) : []));
        break;
      case "configEntry":
        set(n.key, "property");
        break;
      case "arg":
        if (n.name) set(n.name, "parameter");
        break;
      case "call":
        if (out.has(n.callee.span.start)) break;
        if (parent?.kind === "op") set(n.callee, "method", "defaultLibrary");
        else if (parent?.kind === "sink" || parent?.kind === "source") set(n.callee, "namespace", "defaultLibrary");
        else if (BUILTIN_MAP.has(n.callee.name) || ["tumbling", "sliding", "session"].includes(n.callee.name)) set(n.callee, "function", "defaultLibrary");
        else set(n.callee, "function");
        break;
    }
  });
  return out;
}

export function semanticTokens(d: FlowDocument): SemanticTokens {
  const names = classifyNames(d);
  const lexed = tokenize(d.text, d.file.path);
  const raw: Array<{ start: number; length: number; c: Classified }> = [];
  for (const t of lexed.tokens) {
    const meta = metaOf(t.tokenType);
    if (!meta) continue;
    let c: Classified | undefined;
    switch (meta.category) {
      case "keyword":
        c = t.image === "true" || t.image === "false" ? { type: "keyword", modifiers: [] } : names.get(t.startOffset) ?? { type: "keyword", modifiers: [] };
        break;
      case "identifier":
        c = names.get(t.startOffset);
        break;
      case "literal":
        c = { type: meta.name.includes("String") ? "string" : "number", modifiers: [] };
        break;
      case "operator":
        c = { type: "operator", modifiers: [] };
        break;
    }
    if (c) raw.push({ start: t.startOffset, length: t.image.length, c });
  }
  for (const cm of lexed.comments) raw.push({ start: cm.span.start, length: cm.span.end - cm.span.start, c: { type: "comment", modifiers: [] } });
  raw.sort((a, b) => a.start - b.start);

  const data: number[] = [];
  let prevLine = 0;
  let prevChar = 0;
  const push = (start: number, length: number, c: Classified) => {
    if (length <= 0) return;
    const p = d.position(start);
    data.push(p.line - prevLine, p.line === prevLine ? p.character - prevChar : p.character, length, TOKEN_TYPES.indexOf(c.type), c.modifiers.reduce((m, x) => m | (1 << TOKEN_MODIFIERS.indexOf(x)), 0));
    prevLine = p.line;
    prevChar = p.character;
  };
  for (const r of raw) {
    // A token over several lines (a block comment) becomes one token per line.
    const text = d.text.slice(r.start, r.start + r.length);
    let at = 0;
    for (const part of text.split(/(?<=\n)/)) {
      const body = part.replace(/\r?\n$/, "");
      push(r.start + at, body.length, r.c);
      at += part.length;
    }
  }
  return { data };
}
