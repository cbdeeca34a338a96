// Completion. What fits at the cursor is decided on the text as it is being typed, which is often
// not a valid program yet: after `|>`, the operators (and `sink`); after `|> sink`, the sink
// connectors; after `.`, the fields of the type of the expression before the dot (found by
// checking the file without the dot); anywhere else the word under the cursor is replaced by a
// placeholder name, the file is checked again, and where the placeholder lands in the tree says
// what is wanted: a type, a stream, a value (lambda parameters in scope, constants, built-ins,
// imported functions), a connector, a named argument, a config key, a sink or source name.
import { CompletionItemKind, type CompletionItem } from "vscode-languageserver";
import type * as A from "../ast.js";
import { BUILTINS } from "../builtins.js";
import { analyze, type Analysis } from "../index.js";
import { AGGREGATES, CONFIG_KEYS, OPERATOR_MAP, OPERATORS, WINDOW_KINDS } from "../operators.js";
import { pathAt, walk, type AstNode } from "../query/nodes.js";
import { SourceFile } from "../source.js";
import { tokenize } from "../../grammar/tokens.js";
import { CONNECTORS } from "../../runtime/connectors/catalog.js";
import { typeToString, type FlowType } from "../../runtime/types.js";
import { builtinDoc, connectorDoc, connectorSignature, operatorDoc } from "./describe.js";
import type { FlowDocument } from "./document.js";

const PLACEHOLDER = "__flowCompletion__";
const ITEM_KEYWORDS = ["pipeline", "import", "type", "const", "config", "source", "stream", "test"];
const PRIMITIVES = ["int", "float", "string", "bool", "timestamp", "duration"];
const isWordChar = (c: string | undefined) => c !== undefined && /[A-Za-z0-9_]/.test(c);

const md = (value: string) => ({ kind: "markdown" as const, value });

export function completion(d: FlowDocument, offset: number): CompletionItem[] {
  const text = d.text;
  if (insideCommentOrString(text, offset)) return [];
  let start = offset;
  while (start > 0 && isWordChar(text[start - 1])) start--;
  let end = offset;
  while (isWordChar(text[end])) end++;
  const before = text.slice(0, start);

  if (/\|>\s*sink\s+$/.test(before)) return connectors("sink");
  if (/(^|[\s{])given\s+$/.test(before)) return declared(d, "source");
  if (/(^|[\s{])expect\s+(ordered\s+)?$/.test(before)) return declared(d, "sink");
  if (inConfigKey(d, start)) return configKeys();
  if (/\|>\s*$/.test(before)) return operators();
  const dot = /\.\s*$/.exec(before);
  if (dot && !/\d\.\s*$/.test(before)) return fields(d, dot.index, end);
  return byPlaceholder(d, start, end);
}

function insideCommentOrString(text: string, offset: number): boolean {
  const lexed = tokenize(text, "");
  if (lexed.comments.some((c) => c.span.start < offset && (offset < c.span.end || (!c.block && offset === c.span.end)))) return true;
  return lexed.tokens.some((t) => t.tokenType.name.includes("String") && t.startOffset < offset && offset < t.startOffset + t.image.length);
}

// ---------------------------------------------------------------- lists

function declared(d: FlowDocument, kind: "source" | "sink"): CompletionItem[] {
  return d.symbols.symbols.filter((s) => s.kind === kind).map((s) => ({ label: s.name, kind: CompletionItemKind.Variable, detail: kind }));
}

/** At the start of an entry of a `config { }` block. */
function inConfigKey(d: FlowDocument, start: number): boolean {
  const item = d.analysis.program.items.find((i) => i.span.start <= start && start <= i.span.end);
  if (item?.kind !== "config") return false;
  const open = d.text.indexOf("{", item.span.start);
  if (open < 0 || open >= start) return false;
  return /(^|[{,\n])[ \t]*$/.test(d.text.slice(open, start));
}

function configKeys(): CompletionItem[] {
  return CONFIG_KEYS.map((k) => ({ label: k.name, insertText: `${k.name}: `, kind: CompletionItemKind.Property, detail: k.type, documentation: k.doc }));
}

function operators(): CompletionItem[] {
  const ops: CompletionItem[] = OPERATORS.map((o, i) => ({
    label: o.name,
    kind: CompletionItemKind.Method,
    detail: o.signature,
    documentation: md(operatorDoc(o)),
    sortText: String(i).padStart(2, "0"),
  }));
  return [...ops, { label: "sink", kind: CompletionItemKind.Keyword, detail: "sink CONNECTOR(args) [as NAME]", documentation: md("Ends the pipeline: writes its elements with a connector."), sortText: "99" }];
}

function connectors(role: "source" | "sink"): CompletionItem[] {
  return CONNECTORS.filter((c) => c.roles.includes(role)).map((c) => ({ label: c.name, kind: CompletionItemKind.Module, detail: connectorSignature(c), documentation: md(connectorDoc(c)) }));
}

function typeItems(a: Analysis): CompletionItem[] {
  const named = [...a.checked.namedTypes].map(([name, t]) => ({ label: name, kind: CompletionItemKind.Struct, detail: typeToString(t, true) }));
  const declared = a.program.items.filter((i): i is A.TypeDecl => i.kind === "type" && i.name.name !== PLACEHOLDER && !a.checked.namedTypes.has(i.name.name));
  return [
    ...PRIMITIVES.map((p) => ({ label: p, kind: CompletionItemKind.TypeParameter, detail: "built-in type" })),
    ...named,
    ...declared.map((i) => ({ label: i.name.name, kind: CompletionItemKind.Struct })),
  ];
}

function streamItems(a: Analysis): CompletionItem[] {
  const out: CompletionItem[] = [];
  for (const item of a.program.items) {
    if ((item.kind === "source" || item.kind === "stream") && item.name.name !== "" && item.name.name !== PLACEHOLDER) {
      const s = item.kind === "source" ? a.checked.sources.get(item.name.name) : a.checked.streams.get(item.name.name);
      out.push({ label: item.name.name, kind: CompletionItemKind.Variable, detail: `${item.kind}${s ? `: ${typeToString(s.type)}` : ""}` });
    }
  }
  return out;
}

function valueItems(a: Analysis, path: AstNode[]): CompletionItem[] {
  const out: CompletionItem[] = [];
  const seen = new Set<string>();
  const add = (item: CompletionItem) => {
    if (seen.has(item.label) || item.label === PLACEHOLDER || item.label === "") return;
    seen.add(item.label);
    out.push(item);
  };
  // Parameters of the lambdas around the cursor, innermost first.
  for (let i = path.length - 1; i >= 0; i--) {
    const n = path[i]!;
    if (n.kind !== "lambda") continue;
    for (const p of n.params) {
      const t = a.checked.paramTypes.get(p);
      add({ label: p.name, kind: CompletionItemKind.Variable, detail: t ? typeToString(t) : "parameter", sortText: `0${p.name}` });
    }
  }
  for (const item of a.program.items) {
    if (item.kind === "const") {
      const k = a.checked.constants.get(item.name.name);
      add({ label: item.name.name, kind: CompletionItemKind.Constant, detail: k ? `const: ${typeToString(k.type)}` : "const", sortText: `1${item.name.name}` });
    } else if (item.kind === "import") {
      for (const n of item.names) add({ label: n.name, kind: CompletionItemKind.Function, detail: `imported from ${item.from.raw}`, sortText: `2${n.name}` });
    }
  }
  for (const b of BUILTINS) add({ label: b.name, kind: CompletionItemKind.Function, detail: b.signature, documentation: md(builtinDoc(b)), sortText: `3${b.name}` });
  for (const k of ["true", "false"]) add({ label: k, kind: CompletionItemKind.Keyword, sortText: `4${k}` });
  return out;
}

function namedArgItems(call: A.CallExpr, role: "op" | "connector" | "value"): CompletionItem[] {
  const given = new Set(call.args.map((x) => x.name?.name));
  const params: Array<{ name: string; detail: string; doc?: string }> = [];
  if (role === "connector") {
    const c = CONNECTORS.find((x) => x.name === call.callee.name);
    for (const p of c?.params ?? []) params.push({ name: p.name, detail: `${p.name}: ${p.oneOf ? p.oneOf.map((v) => `"${v}"`).join(" | ") : p.type}`, doc: p.doc });
  } else {
    const sig = role === "op" ? OPERATOR_MAP.get(call.callee.name)?.signature : WINDOW_KINDS.find((w) => w.name === call.callee.name)?.signature;
    for (const m of (sig ?? "").matchAll(/([A-Za-z_]+):/g)) params.push({ name: m[1]!, detail: `${m[1]}:` });
  }
  return params.filter((p) => !given.has(p.name)).map((p) => ({ label: `${p.name}:`, insertText: `${p.name}: `, filterText: p.name, kind: CompletionItemKind.Property, detail: p.detail, ...(p.doc ? { documentation: p.doc } : {}), sortText: `!${p.name}` }));
}

// ---------------------------------------------------------------- fields after `.`

function fields(d: FlowDocument, dotOffset: number, wordEnd: number): CompletionItem[] {
  const patched = d.text.slice(0, dotOffset) + d.text.slice(wordEnd);
  const a = analyze(new SourceFile(d.file.path, patched));
  let end = dotOffset;
  while (end > 0 && /\s/.test(patched[end - 1]!)) end--;
  let best: { e: A.Expr; t: FlowType } | undefined;
  for (const [e, t] of a.checked.types) {
    if (e.span.end !== end || t.kind === "unknown") continue;
    if (!best || e.span.start > best.e.span.start) best = { e, t };
  }
  let t = best?.t;
  if (!t) {
    // A stream's name: its element type (for a lambda written against it).
    const m = /([A-Za-z_][A-Za-z0-9_]*)$/.exec(patched.slice(0, end));
    t = m ? (a.checked.sources.get(m[1]!)?.type ?? a.checked.streams.get(m[1]!)?.type) : undefined;
  }
  if (t?.kind === "optional") t = t.inner;
  if (t?.kind !== "record") return [];
  return t.fields.map((f) => ({ label: f.name, kind: CompletionItemKind.Field, detail: `${f.name}${f.optional ? "?" : ""}: ${typeToString(f.type)}` }));
}

// ---------------------------------------------------------------- anywhere else

function byPlaceholder(d: FlowDocument, start: number, end: number): CompletionItem[] {
  const patched = d.text.slice(0, start) + PLACEHOLDER + d.text.slice(end);
  const a = analyze(new SourceFile(d.file.path, patched));
  let ph: A.Ident | undefined;
  walk(a.program, (n) => {
    if (!ph && n.kind === "ident" && n.name === PLACEHOLDER) ph = n;
  });
  const lineStart = d.text.lastIndexOf("\n", start - 1) + 1;
  const atLineStart = d.text.slice(lineStart, start).trim() === "";
  if (!ph) return atLineStart ? [...keywordItems(), ...streamItems(a)] : [...valueItems(a, []), ...streamItems(a)];

  const path = pathAt(a.program, ph.span.start);
  const parent = path.at(-2);
  const grand = path.at(-3);
  const great = path.at(-4);
  if (!parent) return [];
  switch (parent.kind) {
    case "namedType":
      return typeItems(a);
    case "configEntry":
      return parent.key === ph ? configKeys() : valueItems(a, path);
    case "given":
      return parent.source === ph ? a.program.items.filter((i): i is A.SourceDecl => i.kind === "source").map((i) => ({ label: i.name.name, kind: CompletionItemKind.Variable, detail: "source" })) : valueItems(a, path);
    case "expect":
      return parent.sink === ph ? a.checked.sinks.filter((s) => s.name).map((s) => ({ label: s.name!, kind: CompletionItemKind.Variable, detail: `sink: ${typeToString(s.type)}` })) : valueItems(a, path);
    case "arg":
      // `PH: value`: a named argument being written.
      if (parent.name === ph && grand?.kind === "call") return namedArgItems(grand, callRole(great));
      break;
    case "call":
      if (parent.callee === ph) {
        if (grand?.kind === "source" || grand?.kind === "sink") return connectors(grand.kind);
        if (grand?.kind === "op") return operators();
        return valueItems(a, path);
      }
      break;
    case "name":
      return nameItems(a, path, atLineStart);
  }
  return [];
}

function keywordItems(): CompletionItem[] {
  return ITEM_KEYWORDS.map((k) => ({ label: k, kind: CompletionItemKind.Keyword, sortText: `~${k}` }));
}

/** A connector's call is in a source declaration or after `sink`; an operator's is a step. */
function callRole(holder: AstNode | undefined): "op" | "connector" | "value" {
  if (holder?.kind === "op") return "op";
  if (holder?.kind === "sink" || holder?.kind === "source") return "connector";
  return "value";
}

/** A name being written: a stream where one is expected, else a value (plus named arguments). */
function nameItems(a: Analysis, path: AstNode[], atLineStart: boolean): CompletionItem[] {
  const name = path.at(-2)!;
  const holder = path.at(-3);
  // A pipeline statement's head (at the start of an item), or a stream declaration's value.
  if (holder?.kind === "pipe" && holder.head === name) {
    const item = path[1];
    if (item?.kind === "pipeline" || item?.kind === "stream") return [...streamItems(a), ...(atLineStart && item.kind === "pipeline" && holder.steps.length === 0 ? keywordItems() : [])];
  }
  if (holder?.kind === "pipeline") return [...streamItems(a), ...(atLineStart ? keywordItems() : [])];
  if (holder?.kind === "stream") return streamItems(a);
  const values = valueItems(a, path);
  if (holder?.kind === "arg") {
    const call = path.at(-4);
    const step = path.at(-5);
    if (call?.kind === "call") {
      const role = callRole(step);
      const named = holder.name ? [] : namedArgItems(call, role);
      const positional = call.args.filter((x) => !x.name);
      if (role === "op" && (call.callee.name === "union" || call.callee.name === "join") && positional[0] === holder) return [...streamItems(a), ...named];
      if (role === "op" && call.callee.name === "window") return WINDOW_KINDS.map((w) => ({ label: w.name, kind: CompletionItemKind.Function, detail: w.signature }));
      return [...named, ...values];
    }
  }
  // Inside `aggregate({ name: ... })`: the aggregates.
  const fieldInit = holder?.kind === "fieldInit" ? holder : undefined;
  if (fieldInit) {
    const call = path.at(-6);
    if (call?.kind === "call" && call.callee.name === "aggregate") {
      return AGGREGATES.map((g) => ({ label: g, kind: CompletionItemKind.Function, detail: OPERATOR_MAP.get(g)?.signature ?? g }));
    }
  }
  return values;
}
