// Go to definition, find references, rename and document symbols, all over the symbol table of
// compiler/query/symbols.ts. A call of an imported function goes to the function's `export` in the
// .ts file when a plain text search finds it there, else to its name in the import; on the import's
// path, to the file itself.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { SymbolKind, type DocumentSymbol, type Location, type Range, type TextEdit, type WorkspaceEdit } from "vscode-languageserver";
import type * as A from "../ast.js";
import { pathAt } from "../query/nodes.js";
import type { FlowSymbol } from "../query/symbols.js";
import { tokenMeta } from "../../grammar/tokens.js";
import type { FlowDocument } from "./document.js";

const KEYWORDS = new Set(tokenMeta.filter((m) => m.keyword).map((m) => m.text!));

function identAt(d: FlowDocument, offset: number): A.Ident | undefined {
  const node = pathAt(d.analysis.program, offset, true).at(-1);
  return node?.kind === "ident" ? node : undefined;
}

export function symbolAt(d: FlowDocument, offset: number): FlowSymbol | undefined {
  const id = identAt(d, offset);
  return id && d.symbols.byIdent.get(id);
}

export function definition(d: FlowDocument, offset: number): Location[] {
  const path = pathAt(d.analysis.program, offset, true);
  const node = path.at(-1);
  // The path of an import: the imported file.
  if (node?.kind === "string" && path.at(-2)?.kind === "import") {
    const file = importedFile(d, node.value);
    return file ? [{ uri: pathToFileURL(file).href, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }] : [];
  }
  const sym = symbolAt(d, offset);
  if (!sym) return [];
  if (sym.kind === "udf") {
    const inTs = udfDefinition(d, sym);
    if (inTs) return [inTs];
  }
  return [{ uri: d.uri, range: d.range(sym.decl.span) }];
}

function importedFile(d: FlowDocument, path: string): string | undefined {
  const file = resolve(dirname(d.file.path), path);
  return existsSync(file) ? file : undefined;
}

function udfDefinition(d: FlowDocument, sym: FlowSymbol): Location | undefined {
  const file = importedFile(d, (sym.node as A.ImportDecl).from.value);
  if (!file) return undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const m = new RegExp(`export\\s+(?:async\\s+)?(?:function\\s*\\*?\\s*|const\\s+|let\\s+)(${sym.name})\\b`).exec(text);
  if (!m) return undefined;
  const at = m.index + m[0].length - sym.name.length;
  const line = text.slice(0, at).split("\n").length - 1;
  const character = at - (text.lastIndexOf("\n", at - 1) + 1);
  const range: Range = { start: { line, character }, end: { line, character: character + sym.name.length } };
  return { uri: pathToFileURL(file).href, range };
}

export function references(d: FlowDocument, offset: number, includeDeclaration: boolean): Location[] {
  const sym = symbolAt(d, offset);
  if (!sym) return [];
  const ids = includeDeclaration ? [sym.decl, ...sym.refs] : sym.refs;
  return ids.sort((a, b) => a.span.start - b.span.start).map((i) => ({ uri: d.uri, range: d.range(i.span) }));
}

export function prepareRename(d: FlowDocument, offset: number): { range: Range; placeholder: string } | null {
  const id = identAt(d, offset);
  const sym = id && d.symbols.byIdent.get(id);
  if (!id || !sym) return null;
  return { range: d.range(id.span), placeholder: id.name };
}

/** Renames a symbol everywhere in the file; an error message when the new name cannot be one. */
export function rename(d: FlowDocument, offset: number, newName: string): WorkspaceEdit | string {
  const sym = symbolAt(d, offset);
  if (!sym) return "There is no name here that can be renamed.";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(newName)) return `\`${newName}\` is not a name: use letters, digits and _, not starting with a digit.`;
  if (KEYWORDS.has(newName)) return `\`${newName}\` is a keyword.`;
  const edits: TextEdit[] = [sym.decl, ...sym.refs].map((i) => ({ range: d.range(i.span), newText: newName }));
  return { changes: { [d.uri]: edits } };
}

// ---------------------------------------------------------------- document symbols

export function documentSymbols(d: FlowDocument): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  const sym = (name: string, detail: string, kind: SymbolKind, span: A.Span, selection: A.Span, children: DocumentSymbol[] = []): DocumentSymbol => ({
    name: name === "" ? "(missing name)" : name,
    detail,
    kind,
    range: d.range(span),
    selectionRange: d.range(selection),
    ...(children.length > 0 ? { children } : {}),
  });
  const text = (s: A.Span) => d.text.slice(s.start, s.end).replace(/\s+/g, " ");
  const fieldsOf = (t: A.TypeExpr): DocumentSymbol[] =>
    t.kind === "recordType" ? t.fields.map((f) => sym(f.name.name, text(f.type.span), SymbolKind.Field, f.span, f.name.span, fieldsOf(f.type))) : t.kind === "arrayType" ? fieldsOf(t.element) : [];
  for (const item of d.analysis.program.items) {
    switch (item.kind) {
      case "header":
        out.push(sym(item.name.name, "pipeline", SymbolKind.Namespace, item.span, item.name.span));
        break;
      case "import":
        out.push(sym(`import ${item.from.value}`, item.names.map((n) => n.name).join(", "), SymbolKind.Module, item.span, item.from.span, item.names.map((n) => sym(n.name, "imported function", SymbolKind.Function, n.span, n.span))));
        break;
      case "type":
        out.push(sym(item.name.name, "type", SymbolKind.Struct, item.span, item.name.span, fieldsOf(item.type)));
        break;
      case "const":
        out.push(sym(item.name.name, text(item.value.span), SymbolKind.Constant, item.span, item.name.span));
        break;
      case "config":
        out.push(sym("config", "", SymbolKind.Object, item.span, { start: item.span.start, end: item.span.start + 6 }, item.entries.map((e) => sym(e.key.name, text(e.value.span), SymbolKind.Property, e.span, e.key.span))));
        break;
      case "source":
        out.push(sym(item.name.name, `source: ${text(item.type.span)}`, SymbolKind.Event, item.span, item.name.span));
        break;
      case "stream":
        out.push(sym(item.name.name, "stream", SymbolKind.Variable, item.span, item.name.span));
        break;
      case "pipeline": {
        const last = item.pipe.steps.at(-1);
        const as = last?.kind === "sink" ? last.as : undefined;
        const name = as ? `${text(item.pipe.head.span)} → ${as.name}` : `${text(item.pipe.head.span)} |> …${last?.kind === "sink" ? ` |> sink ${last.connector.callee.name}()` : ""}`;
        const steps = item.pipe.steps.map((s) => sym(s.kind === "op" ? s.call.callee.name : `sink ${s.connector.callee.name}`, text(s.span), s.kind === "op" ? SymbolKind.Operator : SymbolKind.Event, s.span, s.kind === "op" ? s.call.callee.span : s.connector.callee.span));
        out.push(sym(name, "pipeline", SymbolKind.Function, item.span, item.pipe.head.span, steps));
        break;
      }
      case "test":
        out.push(sym(`test ${item.name.raw}`, "", SymbolKind.Method, item.span, item.name.span));
        break;
    }
  }
  return out;
}
