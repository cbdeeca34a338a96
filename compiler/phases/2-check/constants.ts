// Compile-time evaluation: constants, config values and connector arguments are folded to plain
// values here. Anything that needs a record at run time (a lambda parameter) is not constant.
import type * as A from "../../ast.js";
import type { ConstValue } from "../../../runtime/plan.js";

/** Looks up the value of a named constant, or undefined when the name is not a constant. */
export type ConstLookup = (name: string) => ConstValue | undefined;

/** The value of a constant expression, or undefined when it is not constant (or fails to fold). */
export function evalConst(e: A.Expr, lookup: ConstLookup): ConstValue | undefined {
  switch (e.kind) {
    case "int":
    case "float":
    case "string":
    case "bool":
      return e.value;
    case "duration":
      return e.ms;
    case "paren":
      return evalConst(e.expr, lookup);
    case "name":
      return lookup(e.name.name);
    case "array": {
      const out: ConstValue[] = [];
      for (const x of e.elements) {
        const v = evalConst(x, lookup);
        if (v === undefined) return undefined;
        out.push(v);
      }
      return out;
    }
    case "record": {
      const out: Record<string, ConstValue> = {};
      for (const f of e.fields) {
        const v = evalConst(f.value, lookup);
        if (v === undefined) return undefined;
        out[f.name.name] = v;
      }
      return out;
    }
    case "unary": {
      const v = evalConst(e.operand, lookup);
      if (e.op === "-" && typeof v === "number") return -v;
      if (e.op === "!" && typeof v === "boolean") return !v;
      return undefined;
    }
    case "binary": {
      const l = evalConst(e.left, lookup);
      const r = evalConst(e.right, lookup);
      if (l === undefined || r === undefined) return undefined;
      return foldBinary(e.op, l, r);
    }
    case "conditional": {
      const t = evalConst(e.test, lookup);
      if (typeof t !== "boolean") return undefined;
      return evalConst(t ? e.then : e.else, lookup);
    }
    default:
      return undefined;
  }
}

function foldBinary(op: A.BinaryOp, l: ConstValue, r: ConstValue): ConstValue | undefined {
  if (op === "??") return l ?? r;
  if (typeof l === "number" && typeof r === "number") {
    switch (op) {
      case "+": return l + r;
      case "-": return l - r;
      case "*": return l * r;
      case "/": return l / r;
      case "%": return l % r;
      case "<": return l < r;
      case "<=": return l <= r;
      case ">": return l > r;
      case ">=": return l >= r;
    }
  }
  if (op === "+" && (typeof l === "string" || typeof r === "string")) return `${l}${r}`;
  if (op === "==") return l === r;
  if (op === "!=") return l !== r;
  if (typeof l === "boolean" && typeof r === "boolean") {
    if (op === "&&") return l && r;
    if (op === "||") return l || r;
  }
  if (typeof l === "string" && typeof r === "string") {
    switch (op) {
      case "<": return l < r;
      case "<=": return l <= r;
      case ">": return l > r;
      case ">=": return l >= r;
    }
  }
  return undefined;
}
