// Type relations used by the checker: unification of branches and array elements, assignability
// of given/expected test values, and which types may serve as keys.
import { T, type FlowType } from "../../../runtime/types.js";

const numeric = (t: FlowType) => t.kind === "int" || t.kind === "float";

/** The common type of two branches/elements, or null when they have none (int and float give float). */
export function unify(a: FlowType, b: FlowType): FlowType | null {
  if (a.kind === "unknown") return b;
  if (b.kind === "unknown") return a;
  if (numeric(a) && numeric(b)) return a.kind === b.kind ? a : T.float;
  if (a.kind === "optional" || b.kind === "optional") {
    const ai = a.kind === "optional" ? a.inner : a;
    const bi = b.kind === "optional" ? b.inner : b;
    const u = unify(ai, bi);
    return u && { kind: "optional", inner: u };
  }
  if (a.kind === "array" && b.kind === "array") {
    const e = unify(a.element, b.element);
    return e && T.array(e);
  }
  if (a.kind === "record" && b.kind === "record") {
    if (a.fields.length !== b.fields.length) return null;
    const fields = [];
    for (const f of a.fields) {
      const g = b.fields.find((x) => x.name === f.name);
      if (!g) return null;
      const u = unify(f.type, g.type);
      if (!u) return null;
      fields.push({ name: f.name, type: u, optional: f.optional || g.optional });
    }
    return a.name && a.name === b.name ? T.record(fields, a.name) : T.record(fields);
  }
  return a.kind === b.kind ? a : null;
}

/** Whether a value of type `src` may stand where `dst` is expected. */
export function assignable(src: FlowType, dst: FlowType): boolean {
  if (src.kind === "unknown" || dst.kind === "unknown") return true;
  if (src.kind === "int" && dst.kind === "float") return true;
  if (dst.kind === "optional") return assignable(src.kind === "optional" ? src.inner : src, dst.inner);
  if (src.kind === "array" && dst.kind === "array") return src.element.kind === "unknown" || assignable(src.element, dst.element);
  if (src.kind === "record" && dst.kind === "record") {
    for (const f of dst.fields) {
      const g = src.fields.find((x) => x.name === f.name);
      if (!g) {
        if (!f.optional) return false;
      } else if (!assignable(g.type, f.optional ? { kind: "optional", inner: f.type } : f.type)) return false;
    }
    return src.fields.every((g) => dst.fields.some((f) => f.name === g.name));
  }
  // Integer-valued literals are fine for timestamps and durations.
  if (src.kind === "int" && (dst.kind === "timestamp" || dst.kind === "duration")) return true;
  return src.kind === dst.kind;
}

/** Keys must compare by value: primitives, or arrays and records of them. */
export function isKeyable(t: FlowType): boolean {
  switch (t.kind) {
    case "int":
    case "float":
    case "string":
    case "bool":
    case "timestamp":
    case "duration":
    case "unknown":
      return true;
    case "array":
      return isKeyable(t.element);
    case "record":
      return t.fields.every((f) => !f.optional && isKeyable(f.type));
    case "optional":
      return false;
  }
}
