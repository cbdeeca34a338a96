// Words about things, for hover, completion and signature help: operators, built-ins, connectors,
// window kinds and types as Markdown, the parameters of a signature, and the plan facts of a
// pipeline step (the fused chain it runs in, the exchange after it, its state, its time).
import type * as A from "../ast.js";
import { BUILTIN_MAP, type Builtin } from "../builtins.js";
import { OPERATOR_MAP, WINDOW_KINDS, type OperatorInfo } from "../operators.js";
import type { SourceFile } from "../source.js";
import type { PlannedProgram } from "../phases/3-plan/index.js";
import type { Stream } from "../phases/2-check/index.js";
import { CONNECTORS, type ConnectorInfo } from "../../runtime/connectors/catalog.js";
import type { PlanNode, SourceLoc } from "../../runtime/plan.js";
import { typeToString, type FlowType } from "../../runtime/types.js";

export const code = (s: string): string => "```flow\n" + s + "\n```";

export function showType(t: FlowType): string {
  return typeToString(t);
}

/** A type with named records spelled out, one level deep: `Click = { user: string, ... }`. */
export function showTypeExpanded(t: FlowType): string {
  if (t.kind === "record" && t.name) return `${t.name} = ${typeToString(t, true)}`;
  if (t.kind === "array" && t.element.kind === "record" && t.element.name) return `${t.element.name}[]  (${t.element.name} = ${typeToString(t.element, true)})`;
  return typeToString(t);
}

export function connectorSignature(c: ConnectorInfo): string {
  return `${c.name}(${c.params.map((p) => `${p.name}${p.default !== undefined ? "?" : ""}: ${p.oneOf ? p.oneOf.map((v) => `"${v}"`).join(" | ") : p.type}`).join(", ")})`;
}

export function connectorDoc(c: ConnectorInfo): string {
  const params = c.params.map((p) => `- \`${p.name}\`${p.default !== undefined ? ` (default \`${JSON.stringify(p.default)}\`)` : ""}: ${p.doc}`).join("\n");
  return `${code(connectorSignature(c))}\n${c.roles.join(" and ")} connector${c.bounded === false ? ", unbounded" : ""}. ${c.doc}\n\n${params}`;
}

export function operatorDoc(o: OperatorInfo): string {
  return `${code(o.signature)}\n${o.doc}${o.supported ? "" : "\n\n*Not supported yet: parsed and checked, but this release cannot run it.*"}`;
}

export function builtinDoc(b: Builtin): string {
  return `${code(b.signature)}\n${b.doc}`;
}

export function windowDoc(name: string): string | undefined {
  const w = WINDOW_KINDS.find((k) => k.name === name);
  if (!w) return undefined;
  return `${code(w.signature)}\nA window kind for \`window(...)\`.${w.supported ? "" : "\n\n*Not supported yet.*"}`;
}

export const findConnectorInfo = (name: string): ConnectorInfo | undefined => CONNECTORS.find((c) => c.name === name);

/** The signature of whatever a call names, by its role: an operator, a connector, a window kind or a built-in. */
export function signatureOf(callee: string, role: "op" | "connector" | "value"): { label: string; doc: string } | undefined {
  if (role === "op") {
    const o = OPERATOR_MAP.get(callee);
    return o && { label: o.signature, doc: o.doc };
  }
  if (role === "connector") {
    const c = findConnectorInfo(callee);
    return c && { label: connectorSignature(c), doc: c.doc };
  }
  const w = WINDOW_KINDS.find((k) => k.name === callee);
  if (w) return { label: w.signature, doc: "A window kind for `window(...)`." };
  const b: Builtin | undefined = BUILTIN_MAP.get(callee);
  if (b) return { label: b.signature, doc: b.doc };
  const o = OPERATOR_MAP.get(callee);
  return o && { label: o.signature, doc: o.doc };
}

/** The parameters of a signature `name(a, b: T, c: (x, y) => e)`: their offsets in the label. */
export function parametersOf(label: string): Array<[number, number]> {
  const open = label.indexOf("(");
  if (open < 0) return [];
  const out: Array<[number, number]> = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open + 1; i < label.length; i++) {
    const c = label[i]!;
    if (c === "(" || c === "[" || c === "{") depth++;
    else if ((c === ")" || c === "]" || c === "}") && depth > 0) depth--;
    else if (c === ")" || c === ",") {
      if (depth === 0) {
        let s = start;
        while (label[s] === " ") s++;
        if (i > s) out.push([s, i]);
        start = i + 1;
        if (c === ")") break;
      }
    }
  }
  return out;
}

/** A parameter's name as used in a named argument (`format` in `format: "csv"`), if it has one. */
export function parameterName(label: string, range: [number, number]): string | undefined {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\??:/.exec(label.slice(range[0], range[1]));
  return m?.[1];
}

// ---------------------------------------------------------------- plan facts

function sameLoc(loc: SourceLoc, span: A.Span, file: SourceFile): boolean {
  const a = file.position(span.start);
  const b = file.position(span.end);
  return loc.line === a.line && loc.column === a.column && loc.endLine === b.line && loc.endColumn === b.column;
}

function startsAt(loc: SourceLoc, offset: number, file: SourceFile): boolean {
  const a = file.position(offset);
  return loc.line === a.line && loc.column === a.column;
}

function endsAt(loc: SourceLoc, offset: number, file: SourceFile): boolean {
  const b = file.position(offset);
  return loc.endLine === b.line && loc.endColumn === b.column;
}

const exchangeName = (p: string): string => ({ forward: "forward", hash: "hash exchange", rebalance: "rebalance (round robin)", gather: "gather" })[p] ?? p;

function windowText(n: PlanNode): string | undefined {
  if (n.kind !== "aggregate" || !n.window) return undefined;
  const w = n.window;
  const size = w.kind === "session" ? `gap ${w.gapMs} ms` : w.kind === "sliding" ? `${w.sizeMs} ms every ${w.slideMs} ms` : `${w.sizeMs} ms`;
  return `${w.kind} window, ${size}, **${w.time} time**${n.lateStream ? `; late elements go to \`${n.lateStream}\`` : w.time === "event" ? "; late elements are counted and dropped" : ""}`;
}

/** What the planner made of a step: Markdown lines, or none when there is no plan (errors) or no node. */
export function planFacts(step: A.PipeStep, planned: PlannedProgram | undefined, file: SourceFile): string[] {
  if (!planned) return [];
  const nodes = planned.plan.nodes;
  const partitions = planned.plan.config.partitions;
  const consumers = (id: string) => nodes.filter((n) => n.inputs.some((i) => i.from === id));
  const instances = (n: PlanNode) => (n.parallelism === "single" ? "1 instance" : `${partitions} partition${partitions === 1 ? "" : "s"}`);
  const out: string[] = [];
  for (const n of nodes) {
    if (n.kind === "chain") {
      const i = n.steps.findIndex((s) => sameLoc(s.loc, step.span, file));
      if (i < 0) continue;
      const ops = n.steps.map((s) => `${s.op}@${s.loc.line}`).join(", ");
      out.push(n.steps.length > 1 ? `**fused chain** \`${n.id}\`: [${ops}] (step ${i + 1} of ${n.steps.length})` : `chain \`${n.id}\`: [${ops}], not fused with a neighbour`);
      out.push(`stateless, runs in ${instances(n)}; input: ${n.inputs.map((x) => exchangeName(x.partitioning)).join(", ") || "none"}`);
      if (n.keyed && i === n.steps.length - 1) {
        const hashed = consumers(n.id).filter((c) => c.inputs.some((x) => x.from === n.id && x.partitioning === "hash"));
        out.push(`**hash exchange** after this step: records are partitioned by this key${hashed.length > 0 ? ` into ${hashed.map((c) => `\`${c.id}\``).join(", ")}` : ""}`);
      }
    } else if (n.kind === "aggregate") {
      const isWindowStep = step.kind === "op" && step.call.callee.name === "window" && startsAt(n.loc, step.span.start, file) && !endsAt(n.loc, step.span.end, file);
      const isAggStep = endsAt(n.loc, step.span.end, file) && (startsAt(n.loc, step.span.start, file) || !!n.window);
      if (!isWindowStep && !isAggStep) continue;
      out.push(`aggregate \`${n.id}\`: ${n.label}`);
      out.push(`**state**: per key${n.window ? " and window" : ""}; runs in ${instances(n)}; input: ${n.inputs.map((x) => exchangeName(x.partitioning)).join(", ")}`);
      const w = windowText(n);
      out.push(w ? `${w}; emits once per window when it closes` : "not windowed: emits the updated value for every input");
    } else if ((n.kind === "watermark" || n.kind === "join" || n.kind === "distinct") && sameLoc(n.loc, step.span, file)) {
      const what = n.kind === "watermark" ? `watermarks trail the largest timestamp by ${n.delayMs} ms; an input partition idle for 2 s stops holding event time back` : `**state**: per key, kept for ${n.withinMs} ms of **${n.time} time**; late elements are counted and dropped`;
      out.push(`${n.kind} \`${n.id}\`: ${n.label}`);
      out.push(`${what}; runs in ${instances(n)}; input: ${n.inputs.map((x) => exchangeName(x.partitioning)).join(", ")}`);
    } else if (n.kind === "sink" && step.kind === "sink" && sameLoc(n.loc, step.span, file)) {
      out.push(`sink \`${n.id}\`: ${n.label}; ${instances(n)}; input: ${n.inputs.map((x) => exchangeName(x.partitioning)).join(", ")}`);
    }
  }
  return out;
}

/** How a stream looks after a step: its element type, and whether it is keyed or windowed. */
export function streamSummary(s: Stream): string {
  const parts = [`elements: \`${showType(s.type)}\``];
  if (s.keyType) parts.push(`keyed by \`${showType(s.keyType)}\``);
  if (s.window) parts.push(`windowed (${s.window.kind})`);
  return parts.join(", ");
}
