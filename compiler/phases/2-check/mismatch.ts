// Where a value does not fit the type it must have: descends into record and array literals, so the
// caret goes under the wrong field or element rather than the whole literal, and says what is wrong
// there (a field of the wrong type, a field the type does not have, a required field left out).
import type * as A from "../../ast.js";
import { typeToString, type FlowType } from "../../../runtime/types.js";
import { assignable } from "./types.js";

export interface Mismatch {
  span: A.Span;
  message: string;
  label: string;
}

const show = (t: FlowType) => `\`${typeToString(t)}\``;

/** `what` names the whole value, as in "The records given to `clicks`"; undefined when `e` fits. */
export function findMismatch(e: A.Expr, want: FlowType, types: ReadonlyMap<A.Expr, FlowType>, what: string): Mismatch | undefined {
  const found = types.get(e);
  if (!found || assignable(found, want)) return undefined;
  return inner(e, want, types) ?? { span: e.span, message: `${what} must be ${show(want)}, but this is ${show(found)}.`, label: show(found) };
}

function inner(e: A.Expr, want: FlowType, types: ReadonlyMap<A.Expr, FlowType>): Mismatch | undefined {
  if (e.kind === "paren") return inner(e.expr, want, types);
  if (want.kind === "optional") return inner(e, want.inner, types);
  if (e.kind === "array" && want.kind === "array") {
    for (const x of e.elements) {
      const t = types.get(x);
      if (t && !assignable(t, want.element)) return inner(x, want.element, types) ?? { span: x.span, message: `This element must be ${show(want.element)}, but it is ${show(t)}.`, label: show(t) };
    }
    return undefined;
  }
  if (e.kind === "record" && want.kind === "record") {
    const name = want.name ? `\`${want.name}\`` : "the record type";
    for (const f of e.fields) {
      const w = want.fields.find((x) => x.name === f.name.name);
      if (!w) return { span: f.name.span, message: `${name.replace(/^t/, "T")} has no field \`${f.name.name}\`; its fields are ${want.fields.map((x) => `\`${x.name}\``).join(", ")}.`, label: "no such field" };
      const t = types.get(f.value);
      if (t && !assignable(t, w.optional ? { kind: "optional", inner: w.type } : w.type)) {
        return inner(f.value, w.type, types) ?? { span: f.value.span, message: `The field \`${f.name.name}\` must be ${show(w.type)}, but this is ${show(t)}.`, label: show(t) };
      }
    }
    const missing = want.fields.filter((w) => !w.optional && !e.fields.some((f) => f.name.name === w.name));
    if (missing.length > 0) {
      return { span: e.span, message: `This record lacks the field${missing.length === 1 ? "" : "s"} ${missing.map((m) => `\`${m.name}\``).join(", ")} of ${name}.`, label: `no ${missing.map((m) => m.name).join(", ")}` };
    }
  }
  return undefined;
}
