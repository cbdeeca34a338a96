// Flow expressions as TypeScript source. Types decide the few places where the two languages
// differ (equality, indexing); built-ins emit their own code (builtins.ts).
import type * as A from "../../ast.js";
import { BUILTIN_MAP, type EmitContext } from "../../builtins.js";
import { sameType, type FlowType } from "../../../runtime/types.js";

const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await " +
    "undefined NaN Infinity Math JSON String Number Object Array RegExp Error RangeError arguments eval plan functions"
  ).split(" "),
);

/** A Flow name as a TypeScript identifier (Flow names never contain `$`, generated ones always do). */
export function mangle(name: string): string {
  return RESERVED.has(name) ? `${name}_` : name;
}

export function tsType(t: FlowType): string {
  switch (t.kind) {
    case "int":
    case "float":
    case "timestamp":
    case "duration":
      return "number";
    case "string":
      return "string";
    case "bool":
      return "boolean";
    case "array": {
      const e = tsType(t.element);
      return /^[\w.]+$/.test(e) ? `${e}[]` : `Array<${e}>`;
    }
    case "record":
      if (t.name) return t.name;
      return `{ ${t.fields.map((f) => `${f.name}${f.optional ? "?" : ""}: ${tsType(f.type)}`).join("; ")} }`;
    case "optional":
      return `${tsType(t.inner)} | undefined`;
    case "unknown":
      return "unknown";
  }
}

export interface ExprContext extends EmitContext {
  types: Map<A.Expr, FlowType>;
  constStrings: Map<A.Expr, string>;
  prelude(name: "at" | "udf"): string;
  /** Imported functions by name. */
  udfs: ReadonlyMap<string, unknown>;
  /** `file.flow:line:column` of a span, for the reports of records that fail there. */
  where(span: A.Span): string;
}

const PREC: Record<string, number> = { "??": 1, "||": 2, "&&": 3, "==": 4, "!=": 4, "<": 5, "<=": 5, ">": 5, ">=": 5, "+": 6, "-": 6, "*": 7, "/": 7, "%": 7 };

export function emitExpr(e: A.Expr, ctx: ExprContext): string {
  switch (e.kind) {
    case "int":
    case "float":
      return String(e.value);
    case "duration":
      return `${e.ms} /* ${e.raw} */`;
    case "string":
      return JSON.stringify(e.value);
    case "bool":
      return String(e.value);
    case "name":
      return mangle(e.name.name);
    case "paren":
      return `(${emitExpr(e.expr, ctx)})`;
    case "array": {
      const t = ctx.types.get(e);
      return `[${e.elements.map((x) => typed(x, t?.kind === "array" ? t.element : undefined, ctx)).join(", ")}]`;
    }
    case "record":
      return `{ ${e.fields.map((f) => `${f.name.name}: ${emitExpr(f.value, ctx)}`).join(", ")} }`;
    case "unary":
      // `-(-x)`, not `--x`.
      return e.operand.kind === "unary" ? `${e.op}(${emitExpr(e.operand, ctx)})` : `${e.op}${wrap(e.operand, 8, ctx)}`;
    case "binary": {
      const p = PREC[e.op]!;
      const op = e.op === "==" ? "===" : e.op === "!=" ? "!==" : e.op;
      // `??` cannot be mixed with `&&`/`||` without parentheses in JavaScript.
      const l = e.op === "??" || e.left.kind === "binary" && e.left.op === "??" ? `(${emitExpr(e.left, ctx)})` : wrap(e.left, p, ctx);
      const r = e.op === "??" ? `(${typed(e.right, ctx.types.get(e), ctx)})` : wrap(e.right, p + 1, ctx);
      return `${l} ${op} ${r}`;
    }
    case "conditional": {
      const t = ctx.types.get(e);
      return `${wrap(e.test, 1, ctx)} ? ${typed(e.then, t, ctx)} : ${typed(e.else, t, ctx)}`;
    }
    case "member":
      return `${wrap(e.object, 9, ctx)}.${e.property.name}`;
    case "index":
      return `${ctx.prelude("at")}(${emitExpr(e.object, ctx)}, ${emitExpr(e.index, ctx)})`;
    case "call": {
      if (ctx.udfs.has(e.callee.name)) {
        // Through a helper that tags what the function throws with the call's position.
        const args = e.args.map((a) => emitExpr(a.value, ctx));
        return `${ctx.prelude("udf")}(${JSON.stringify(ctx.where(e.span))}, ${mangle(e.callee.name)}${args.map((a) => `, ${a}`).join("")})`;
      }
      const b = BUILTIN_MAP.get(e.callee.name);
      if (!b) throw new Error(`internal: no built-in ${e.callee.name} at emit`);
      const args = e.args.map((a) => emitExpr(a.value, ctx));
      const types = e.args.map((a) => ctx.types.get(a.value) ?? { kind: "unknown" as const });
      const consts = e.args.map((a) => ctx.constStrings.get(a.value));
      return b.emit(args.map((a, i) => (needsParens(e.args[i]!.value) ? `(${a})` : a)), ctx, types, consts);
    }
    case "lambda":
    case "pipe":
    case "missing":
      throw new Error(`internal: cannot emit a ${e.kind} expression`);
  }
}

/**
 * A record or array literal where a value of a wider type is expected (a default after `??`, a
 * branch, an element) is asserted to that type: Flow lets `{ city: "" }` stand for an `Address`
 * whose other fields are optional, but TypeScript would infer a union without them.
 */
function typed(e: A.Expr, t: FlowType | undefined, ctx: ExprContext): string {
  const s = emitExpr(e, ctx);
  if (!t || (e.kind !== "record" && e.kind !== "array") || (t.kind !== "record" && t.kind !== "array")) return s;
  const own = ctx.types.get(e);
  if (own && sameType(own, t)) return s;
  return `(${s} as ${tsType(t)})`;
}

function needsParens(e: A.Expr): boolean {
  return e.kind === "binary" || e.kind === "conditional" || e.kind === "unary" || e.kind === "duration";
}

function wrap(e: A.Expr, prec: number, ctx: ExprContext): string {
  const s = emitExpr(e, ctx);
  const own = e.kind === "binary" ? PREC[e.op]! : e.kind === "conditional" ? 0 : e.kind === "unary" ? 8 : e.kind === "duration" ? 0 : 10;
  return own < prec ? `(${s})` : s;
}
