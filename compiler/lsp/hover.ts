// Hover: the type of the expression, name, field or lambda parameter under the cursor; for a
// declaration, what it declares; for an operator, its documentation, the stream it produces and
// the plan facts (fused chain, exchange and key, state, event or processing time); for built-ins
// and connectors, their signature and documentation.
import type { Hover } from "vscode-languageserver";
import type * as A from "../ast.js";
import { BUILTIN_MAP } from "../builtins.js";
import { OPERATOR_MAP } from "../operators.js";
import { pathAt, type AstNode } from "../query/nodes.js";
import { T, typeToString, type FlowType } from "../../runtime/types.js";
import { builtinDoc, code, connectorDoc, findConnectorInfo, operatorDoc, planFacts, showType, showTypeExpanded, streamSummary, windowDoc } from "./describe.js";
import type { FlowDocument } from "./document.js";

export function hover(d: FlowDocument, offset: number): Hover | null {
  const path = pathAt(d.analysis.program, offset, true);
  const node = path.at(-1)!;
  const md = (value: string, span: A.Span): Hover => ({ contents: { kind: "markdown", value }, range: d.range(span) });

  // `|>` itself: the step it begins.
  if (node.kind === "op" || node.kind === "sink") {
    if (offset < node.pipeSpan.end + 1) return md(stepHover(d, node), node.pipeSpan);
  }
  if (node.kind === "ident") {
    const text = identHover(d, node, path);
    return text === undefined ? null : md(text, node.span);
  }
  if (isExpr(node)) {
    const t = exprType(d, node);
    if (t) return md(code(`${d.text.slice(node.span.start, node.span.end).replace(/\s+/g, " ").slice(0, 60)}: ${showType(t)}`), node.span);
  }
  return null;
}

const EXPR_KINDS = new Set(["int", "float", "string", "bool", "duration", "array", "record", "name", "unary", "binary", "conditional", "member", "index", "call", "lambda", "pipe", "paren"]);
const isExpr = (n: AstNode): n is A.Expr => EXPR_KINDS.has(n.kind);

function exprType(d: FlowDocument, e: A.Expr): FlowType | undefined {
  const t = d.analysis.checked.types.get(e);
  if (t && t.kind !== "unknown") return t;
  if (e.kind === "name") return streamType(d, e.name.name);
  return undefined;
}

function streamType(d: FlowDocument, name: string): FlowType | undefined {
  const c = d.analysis.checked;
  return c.sources.get(name)?.type ?? c.streams.get(name)?.type;
}

function stepHover(d: FlowDocument, step: A.PipeStep): string {
  const lines: string[] = [];
  if (step.kind === "op") {
    const info = OPERATOR_MAP.get(step.call.callee.name);
    lines.push(info ? operatorDoc(info) : code(`|> ${step.call.callee.name}(...)`));
    const s = d.analysis.checked.steps.get(step);
    if (s) lines.push(`Produces a stream of ${streamSummary(s)}.`);
  } else {
    const c = findConnectorInfo(step.connector.callee.name);
    if (c) lines.push(connectorDoc(c));
    const sink = d.analysis.checked.sinks.find((x) => x.step === step);
    if (sink) lines.push(`Takes elements of \`${showType(sink.type)}\`${sink.name ? `; named \`${sink.name}\` for tests` : ""}.`);
  }
  const facts = planFacts(step, d.plan, d.file);
  if (facts.length > 0) lines.push("**Plan**\n\n" + facts.map((f) => `- ${f}`).join("\n"));
  else if (d.analysis.diagnostics.some((x) => x.severity === "error")) lines.push("*Plan facts appear when the file has no errors.*");
  return lines.join("\n\n");
}

function identHover(d: FlowDocument, id: A.Ident, path: AstNode[]): string | undefined {
  const parent = path.at(-2);
  const c = d.analysis.checked;
  const sym = d.symbols.byIdent.get(id);
  if (sym) {
    switch (sym.kind) {
      case "param": {
        const t = c.paramTypes.get(sym.decl) ?? T.unknown;
        return code(`(parameter) ${id.name}: ${showTypeExpanded(t)}`);
      }
      case "source": {
        const s = c.sources.get(sym.name);
        const decl = sym.node as A.SourceDecl;
        return code(`source ${sym.name}: ${s ? showType(s.type) : "unknown"} = ${d.text.slice(decl.connector.span.start, decl.connector.span.end)}`) + (s ? `\n\nElements: \`${showTypeExpanded(s.type)}\`` : "");
      }
      case "stream": {
        const s = c.streams.get(sym.name);
        return code(`stream ${sym.name}`) + (s ? `\n\nA stream of ${streamSummary(s)}.` : "");
      }
      case "const": {
        const k = c.constants.get(sym.name);
        return code(`const ${sym.name}: ${k ? showType(k.type) : "unknown"}${k ? ` = ${JSON.stringify(k.value)}` : ""}`);
      }
      case "type": {
        const t = c.namedTypes.get(sym.name);
        return code(`type ${sym.name} = ${t ? typeToString(t, true) : "unknown"}`);
      }
      case "sink": {
        const s = c.sinks.find((x) => x.name === sym.name);
        return code(`sink ${sym.name}: ${s ? showType(s.type) : "unknown"}`) + "\n\nA named sink: tests compare what reaches it with `expect`.";
      }
      case "udf": {
        const u = c.udfs.get(sym.name);
        return code(`import { ${sym.name} } from ${(sym.node as A.ImportDecl).from.raw}`) + (u ? `\n\n\`${u.signature}\`: an imported TypeScript function, in Flow types.` : "\n\nAn imported TypeScript function.");
      }
    }
  }
  if (!parent) return undefined;
  switch (parent.kind) {
    case "namedType": {
      const prim = ["int", "float", "string", "bool", "timestamp", "duration"];
      return prim.includes(id.name) ? code(`(type) ${id.name}`) : undefined;
    }
    case "member": {
      const t = c.types.get(parent);
      return t ? code(`(field) ${id.name}: ${showTypeExpanded(t)}`) : undefined;
    }
    case "fieldInit": {
      const t = c.types.get(parent.value);
      return t ? code(`(field) ${id.name}: ${showType(t)}`) : undefined;
    }
    case "fieldType":
      return code(`(field) ${id.name}${parent.optional ? "?" : ""}: ${d.text.slice(parent.type.span.start, parent.type.span.end)}`);
    case "configEntry":
      return code(`(config) ${id.name}`);
    case "arg": {
      const call = path.at(-3);
      if (call?.kind !== "call") return undefined;
      const con = findConnectorInfo(call.callee.name);
      const p = con?.params.find((x) => x.name === id.name);
      if (p) return code(`(argument) ${p.name}: ${p.type}`) + `\n\n${p.doc}`;
      return code(`(argument) ${id.name}`);
    }
    case "call": {
      if (parent.callee !== id) return undefined;
      const holder = path.at(-3);
      if (holder?.kind === "op") return stepHover(d, holder);
      if (holder?.kind === "sink" || holder?.kind === "source") {
        if (holder.kind === "sink") return stepHover(d, holder);
        const con = findConnectorInfo(id.name);
        return con ? connectorDoc(con) : undefined;
      }
      const w = windowDoc(id.name);
      if (w) return w;
      const b = BUILTIN_MAP.get(id.name);
      if (b) return builtinDoc(b);
      return undefined;
    }
  }
  return undefined;
}
