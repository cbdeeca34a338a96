// Typing of expressions: literals, operators, field access, built-in calls, records and arrays.
// Every expression's type is recorded; an error gives the type `unknown`, which is compatible with
// everything, so one mistake is reported once and does not cascade.
import type * as A from "../../ast.js";
import { BUILTIN_MAP, BUILTINS } from "../../builtins.js";
import type { Code } from "../../diagnostics/codes.js";
import type { DiagnosticOptions, Label } from "../../diagnostics/diagnostic.js";
import { OPERATOR_MAP } from "../../operators.js";
import { suggest } from "../../util/suggest.js";
import { T, typeToString, type FlowType } from "../../../runtime/types.js";
import { assignable, unify } from "./types.js";
import { checkUdfCall, type Udf } from "./udfs.js";

export type Report = (code: Code, span: A.Span, message: string, opts?: DiagnosticOptions) => void;

export type Binding =
  /** `origin`: where the parameter's type comes from (the stream's source or the step that made its elements). */
  | { kind: "param"; type: FlowType; ident: A.Ident; origin?: Label }
  | { kind: "const"; type: FlowType }
  | { kind: "stream"; what: "source" | "stream" }
  /** An imported function; `udf` is absent when its import had an error. */
  | { kind: "udf"; udf?: Udf };

/** Names visible in an expression: lambda parameters over constants over streams. */
export class Scope {
  constructor(
    private readonly names: Map<string, Binding>,
    private readonly parent: Scope | null = null,
  ) {}

  lookup(name: string): Binding | undefined {
    return this.names.get(name) ?? this.parent?.lookup(name);
  }

  child(names: Map<string, Binding>): Scope {
    return new Scope(names, this);
  }

  /** Imported functions in scope. */
  functionNames(): string[] {
    const own = [...this.names].filter(([, b]) => b.kind === "udf").map(([n]) => n);
    return [...own, ...(this.parent?.functionNames() ?? [])];
  }

  valueNames(): string[] {
    const own = [...this.names].filter(([, b]) => b.kind === "param" || b.kind === "const").map(([n]) => n);
    return [...own, ...(this.parent?.valueNames() ?? [])];
  }
}

const show = (t: FlowType) => `\`${typeToString(t)}\``;

/**
 * The common type of two values (branches, elements, a value and its default): their unification,
 * or else the one the other fits into, so a record literal that leaves out optional fields fits a
 * named record type (`o.ship ?? { city: "" }` with `ship?: Address`).
 */
function join(a: FlowType, b: FlowType): FlowType | null {
  return unify(a, b) ?? (assignable(b, a) ? a : assignable(a, b) ? b : null);
}

const isNum = (t: FlowType) => t.kind === "int" || t.kind === "float";

export class ExprChecker {
  /** Where a named type is declared, for labels. */
  typeDeclaration: (name: string) => A.Span | undefined = () => undefined;

  constructor(
    private readonly report: Report,
    readonly types: Map<A.Expr, FlowType>,
    private readonly constStrings: Map<A.Expr, string>,
    private readonly constString: (e: A.Expr) => string | undefined,
  ) {}

  check(e: A.Expr, scope: Scope): FlowType {
    const t = this.infer(e, scope);
    this.types.set(e, t);
    return t;
  }

  private infer(e: A.Expr, scope: Scope): FlowType {
    switch (e.kind) {
      case "int":
        return T.int;
      case "float":
        return T.float;
      case "string":
        return T.string;
      case "bool":
        return T.bool;
      case "duration":
        return T.duration;
      case "missing":
        return T.unknown;
      case "paren":
        return this.check(e.expr, scope);
      case "name":
        return this.name(e, scope);
      case "array":
        return this.array(e, scope);
      case "record":
        return this.record(e, scope);
      case "unary":
        return this.unary(e, scope);
      case "binary":
        return this.binary(e, scope);
      case "conditional":
        return this.conditional(e, scope);
      case "member":
        return this.member(e, scope);
      case "index":
        return this.index(e, scope);
      case "call":
        return this.call(e, scope);
      case "lambda":
        this.report("FLOW2010", e.span, "A lambda can only be the argument of an operator such as `map(x => ...)`.");
        return T.unknown;
      case "pipe":
        this.report("FLOW2014", e.span, "A stream cannot be used as a value here.", { hints: ["declare it with `stream NAME = ...` and apply operators to it with `|>`"] });
        return T.unknown;
    }
  }

  private name(e: A.NameExpr, scope: Scope): FlowType {
    const b = scope.lookup(e.name.name);
    if (b?.kind === "param" || b?.kind === "const") return b.type;
    if (b?.kind === "stream") {
      this.report("FLOW2014", e.span, `\`${e.name.name}\` is a ${b.what}, not a value.`, { label: "a stream", hints: ["values inside a lambda come from its parameter, for example `map(x => x.field)`"] });
      return T.unknown;
    }
    if (b?.kind === "udf") {
      this.report("FLOW2014", e.span, `\`${e.name.name}\` is a function; call it with arguments.`);
      return T.unknown;
    }
    const hints: string[] = [];
    const close = suggest(e.name.name, scope.valueNames());
    if (close) hints.push(`did you mean \`${close}\`?`);
    else if (BUILTIN_MAP.has(e.name.name)) hints.push(`\`${e.name.name}\` is a built-in function: call it, as in \`${BUILTIN_MAP.get(e.name.name)!.signature}\``);
    this.report("FLOW2001", e.name.span, `I cannot find a value named \`${e.name.name}\`.`, { label: "not defined", hints });
    return T.unknown;
  }

  private array(e: A.ArrayLit, scope: Scope): FlowType {
    let elem: FlowType = T.unknown;
    let first: A.Expr | undefined;
    for (const x of e.elements) {
      const t = this.check(x, scope);
      const u = join(elem, t);
      if (u === null) {
        this.report("FLOW2006", x.span, `The elements of an array must have one type: this one is ${show(t)}, but the first is ${show(elem)}.`, {
          label: show(t),
          labels: first ? [{ span: first.span, message: `${show(elem)}` }] : [],
        });
      } else {
        elem = u;
        first ??= x;
      }
    }
    return T.array(elem);
  }

  private record(e: A.RecordLit, scope: Scope): FlowType {
    const fields = [];
    const seen = new Map<string, A.Ident>();
    for (const f of e.fields) {
      const t = this.check(f.value, scope);
      const prev = seen.get(f.name.name);
      if (prev) {
        this.report("FLOW2016", f.name.span, `The field \`${f.name.name}\` is given twice.`, { labels: [{ span: prev.span, message: "first given here" }] });
        continue;
      }
      seen.set(f.name.name, f.name);
      fields.push({ name: f.name.name, type: t.kind === "optional" ? t.inner : t, optional: t.kind === "optional" });
    }
    return T.record(fields);
  }

  private unary(e: A.UnaryExpr, scope: Scope): FlowType {
    const t = this.check(e.operand, scope);
    if (t.kind === "unknown") return t;
    if (e.op === "!") {
      if (t.kind !== "bool") this.mismatch(e.operand, "bool", t, "`!` needs a bool");
      return T.bool;
    }
    if (isNum(t) || t.kind === "duration") return t;
    this.report("FLOW2017", e.span, `\`-\` is not defined for ${show(t)}.`, { label: show(t) });
    return T.unknown;
  }

  private binary(e: A.BinaryExpr, scope: Scope): FlowType {
    const l = this.check(e.left, scope);
    const r = this.check(e.right, scope);
    if (e.op === "??") {
      if (l.kind === "unknown") return r;
      if (l.kind !== "optional") {
        this.report("FLOW2019", e.opSpan, `The left side of \`??\` is ${show(l)}, which is never missing, so the default is never used.`, { severity: "warning" });
        return l;
      }
      const u = join(l.inner, r);
      if (u === null) {
        this.report("FLOW2006", e.right.span, `The default after \`??\` must be ${show(l.inner)} like the value before it, but it is ${show(r)}.`, { label: show(r) });
        return l.inner;
      }
      return u;
    }
    if (l.kind === "unknown" || r.kind === "unknown") return this.guessResult(e.op, l, r);
    for (const [side, t] of [[e.left, l], [e.right, r]] as const) {
      if (t.kind === "optional") {
        this.report("FLOW2006", side.span, `This value may be missing (it is ${show(t.inner)} or nothing), so \`${e.op}\` cannot use it directly.`, {
          label: "may be missing",
          hints: [`give a default: \`(... ?? ${defaultFor(t.inner)})\``],
        });
        return this.guessResult(e.op, t.inner, t.inner);
      }
    }
    const res = binaryResult(e.op, l, r);
    if (res) return res;
    this.report("FLOW2017", e.opSpan, `\`${e.op}\` is not defined for ${show(l)} and ${show(r)}.`, {
      label: `${typeToString(l)} ${e.op} ${typeToString(r)}`,
      hints: binaryHint(e.op, l, r),
    });
    return this.guessResult(e.op, l, r);
  }

  private guessResult(op: A.BinaryOp, l: FlowType, r: FlowType): FlowType {
    if (["==", "!=", "<", "<=", ">", ">=", "&&", "||"].includes(op)) return T.bool;
    return l.kind !== "unknown" ? l : r;
  }

  private conditional(e: A.ConditionalExpr, scope: Scope): FlowType {
    const t = this.check(e.test, scope);
    if (t.kind !== "bool" && t.kind !== "unknown") this.mismatch(e.test, "bool", t, "the condition of `? :` must be a bool");
    const a = this.check(e.then, scope);
    const b = this.check(e.else, scope);
    const u = join(a, b);
    if (u === null) {
      this.report("FLOW2006", e.else.span, `Both branches of \`? :\` must have one type, but this one is ${show(b)} and the other ${show(a)}.`, {
        label: show(b),
        labels: [{ span: e.then.span, message: show(a) }],
      });
      return a;
    }
    return u;
  }

  private member(e: A.MemberExpr, scope: Scope): FlowType {
    const t = this.check(e.object, scope);
    if (t.kind === "unknown") return t;
    // A lambda parameter's fields: point also at where its type comes from.
    const b = e.object.kind === "name" ? scope.lookup(e.object.name.name) : undefined;
    const labels: Label[] = b?.kind === "param" && b.origin ? [b.origin] : [];
    const declared = t.kind === "record" && t.name ? this.typeDeclaration(t.name) : undefined;
    if (declared && labels.length === 0) labels.push({ span: declared, message: `\`${(t as { name: string }).name}\` is declared here` });
    if (t.kind === "optional") {
      const hint = t.inner.kind === "record" ? `give a default record first, as in \`(${sourceText(e.object)} ?? { ${t.inner.fields.filter((f) => !f.optional).map((f) => `${f.name}: ${defaultFor(f.type)}`).join(", ")} }).${e.property.name}\`` : "give a default with `??` first";
      this.report("FLOW2006", e.object.span, `This value may be missing, so its field \`${e.property.name}\` cannot be read directly.`, { label: "may be missing", hints: [hint] });
      return T.unknown;
    }
    if (t.kind !== "record") {
      const hints = t.kind === "array" && t.element.kind === "record" && t.element.fields.some((f) => f.name === e.property.name) ? [`it is an array of records: pick one, as in \`${sourceText(e.object)}[0].${e.property.name}\``] : [];
      this.report("FLOW2005", e.property.span, `${show(t)} has no fields, so \`.${e.property.name}\` does not exist.`, { label: "no such field", labels, hints });
      return T.unknown;
    }
    const f = t.fields.find((x) => x.name === e.property.name);
    if (!f) {
      const close = suggest(e.property.name, t.fields.map((x) => x.name));
      this.report("FLOW2005", e.property.span, `${t.name ? `The type \`${t.name}\`` : "This record"} has no field named \`${e.property.name}\`.`, {
        label: "unknown field",
        labels,
        hints: close ? [`did you mean \`${close}\`?`] : [`its fields are ${t.fields.map((x) => `\`${x.name}\``).join(", ") || "none"}`],
      });
      return T.unknown;
    }
    return f.optional ? { kind: "optional", inner: f.type } : f.type;
  }

  private index(e: A.IndexExpr, scope: Scope): FlowType {
    const t = this.check(e.object, scope);
    const i = this.check(e.index, scope);
    if (i.kind !== "int" && i.kind !== "unknown") this.mismatch(e.index, "int", i, "an array index must be an int");
    if (t.kind === "unknown") return t;
    if (t.kind !== "array") {
      this.report("FLOW2017", e.object.span, `Only arrays can be indexed, but this is ${show(t)}.`, { label: show(t) });
      return T.unknown;
    }
    return t.element;
  }

  private call(e: A.CallExpr, scope: Scope): FlowType {
    const name = e.callee.name;
    const b = BUILTIN_MAP.get(name);
    const bound = scope.lookup(name);
    if (bound?.kind === "udf") {
      const argTypes = e.args.map((a) => this.check(a.value, scope));
      return bound.udf ? checkUdfCall(bound.udf, e, argTypes, this.report, this.types) : T.unknown;
    }
    if (!b) {
      for (const a of e.args) if (a.value.kind !== "lambda") this.check(a.value, scope);
      const hints: string[] = [];
      if (OPERATOR_MAP.has(name)) hints.push(`\`${name}\` is a pipeline operator: apply it to a stream with \`|> ${name}(...)\``);
      else {
        const close = suggest(name, [...scope.functionNames(), ...BUILTINS.map((x) => x.name)]);
        if (close) hints.push(`did you mean \`${close}\`?`);
      }
      this.report("FLOW2003", e.callee.span, `I cannot find a function named \`${name}\`.`, { label: "unknown function", hints });
      return T.unknown;
    }
    const argTypes: FlowType[] = [];
    for (const a of e.args) {
      if (a.name) this.report("FLOW2008", a.name.span, `\`${name}\` takes no named arguments.`, { hints: [b.signature] });
      argTypes.push(this.check(a.value, scope));
    }
    if (e.args.length < b.minArgs || e.args.length > b.maxArgs) {
      const want = b.minArgs === b.maxArgs ? `${b.minArgs}` : `${b.minArgs} to ${b.maxArgs}`;
      this.report("FLOW2007", e.argsSpan, `\`${name}\` takes ${want} argument${b.maxArgs === 1 ? "" : "s"}, but ${e.args.length === 1 ? "1 was" : `${e.args.length} were`} given.`, { hints: [b.signature] });
      return b.check(argTypes.slice(0, b.maxArgs).concat(new Array(Math.max(0, b.minArgs - argTypes.length)).fill(T.unknown))) as FlowType;
    }
    for (let i = 0; i < argTypes.length; i++) {
      const t = argTypes[i]!;
      if (t.kind === "optional") {
        this.report("FLOW2006", e.args[i]!.value.span, `This value may be missing, so it cannot be passed to \`${name}\` directly.`, { hints: ["give a default with `??`"] });
        argTypes[i] = t.inner;
      }
    }
    const r = b.check(argTypes);
    if ("arg" in r) {
      const a = e.args[r.arg]!;
      this.report("FLOW2006", a.value.span, `Argument ${r.arg + 1} of \`${name}\` must be ${r.expected}, but it is ${show(argTypes[r.arg]!)}.`, { label: show(argTypes[r.arg]!), hints: [b.signature] });
      return T.unknown;
    }
    for (const i of b.regexArgs ?? []) {
      const a = e.args[i];
      if (!a) continue;
      const s = this.constString(a.value);
      if (s === undefined) {
        this.report("FLOW2013", a.value.span, `The regular expression of \`${name}\` must be a constant string, so it can be compiled once.`, { label: "not a constant" });
        continue;
      }
      try {
        new RegExp(s);
        this.constStrings.set(a.value, s);
      } catch (err) {
        this.report("FLOW2015", a.value.span, `This is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, "")}.`, { label: "invalid regular expression" });
      }
    }
    return r;
  }

  mismatch(e: A.Expr, expected: string, found: FlowType, why: string): void {
    this.report("FLOW2006", e.span, `Expected ${expected} here, but found ${show(found)}: ${why}.`, { label: show(found) });
  }
}

function binaryResult(op: A.BinaryOp, l: FlowType, r: FlowType): FlowType | null {
  const k = (t: FlowType) => t.kind;
  switch (op) {
    case "+":
      if (isNum(l) && isNum(r)) return l.kind === "int" && r.kind === "int" ? T.int : T.float;
      if (k(l) === "string" && (k(r) === "string" || isNum(r) || k(r) === "bool")) return T.string;
      if ((isNum(l) || k(l) === "bool") && k(r) === "string") return T.string;
      if (k(l) === "timestamp" && k(r) === "duration") return T.timestamp;
      if (k(l) === "duration" && k(r) === "timestamp") return T.timestamp;
      if (k(l) === "duration" && k(r) === "duration") return T.duration;
      return null;
    case "-":
      if (isNum(l) && isNum(r)) return l.kind === "int" && r.kind === "int" ? T.int : T.float;
      if (k(l) === "timestamp" && k(r) === "timestamp") return T.duration;
      if (k(l) === "timestamp" && k(r) === "duration") return T.timestamp;
      if (k(l) === "duration" && k(r) === "duration") return T.duration;
      return null;
    case "*":
      if (isNum(l) && isNum(r)) return l.kind === "int" && r.kind === "int" ? T.int : T.float;
      if (k(l) === "duration" && k(r) === "int") return T.duration;
      if (k(l) === "int" && k(r) === "duration") return T.duration;
      return null;
    case "/":
      if (isNum(l) && isNum(r)) return T.float;
      if (k(l) === "duration" && k(r) === "duration") return T.float;
      return null;
    case "%":
      if (isNum(l) && isNum(r)) return l.kind === "int" && r.kind === "int" ? T.int : T.float;
      if (k(l) === "duration" && k(r) === "duration") return T.duration;
      if (k(l) === "timestamp" && k(r) === "duration") return T.duration;
      return null;
    case "==":
    case "!=":
      if (isNum(l) && isNum(r)) return T.bool;
      if (k(l) === k(r) && ["string", "bool", "timestamp", "duration"].includes(k(l))) return T.bool;
      return null;
    case "<":
    case "<=":
    case ">":
    case ">=":
      if (isNum(l) && isNum(r)) return T.bool;
      if (k(l) === k(r) && ["string", "timestamp", "duration"].includes(k(l))) return T.bool;
      return null;
    case "&&":
    case "||":
      return k(l) === "bool" && k(r) === "bool" ? T.bool : null;
    case "??":
      return null;
  }
}

function binaryHint(op: A.BinaryOp, l: FlowType, r: FlowType): string[] {
  if ((op === "==" || op === "!=") && (l.kind === "record" || l.kind === "array")) return ["compare fields one by one; records and arrays have no `==`"];
  if (op === "+" && (l.kind === "string" || r.kind === "string")) return ["convert the other side with `toString(...)`"];
  if ((op === "&&" || op === "||") && (l.kind !== "bool" || r.kind !== "bool")) return ["both sides must be bool; compare first, for example `x > 0`"];
  if ((l.kind === "string" && isNum(r)) || (isNum(l) && r.kind === "string")) {
    return [["==", "!=", "<", "<=", ">", ">="].includes(op) ? "convert the number with `toString(...)`, or the string with `toInt(...)` or `toFloat(...)`" : "convert the string with `toInt(...)` or `toFloat(...)`"];
  }
  if (isNum(l) !== isNum(r)) return ["convert with `toInt(...)` or `toFloat(...)`"];
  return [];
}

/** A short expression as written (names and field paths), for hints. */
function sourceText(e: A.Expr): string {
  switch (e.kind) {
    case "name":
      return e.name.name;
    case "member":
      return `${sourceText(e.object)}.${e.property.name}`;
    case "paren":
      return `(${sourceText(e.expr)})`;
    case "index":
      return `${sourceText(e.object)}[${e.index.kind === "int" ? e.index.raw : "i"}]`;
    default:
      return "x";
  }
}

function defaultFor(t: FlowType): string {
  switch (t.kind) {
    case "string":
      return '""';
    case "bool":
      return "false";
    case "float":
      return "0.0";
    case "array":
      return "[]";
    case "record":
      return `{ ${t.fields.filter((f) => !f.optional).map((f) => `${f.name}: ${defaultFor(f.type)}`).join(", ")} }`;
    default:
      return "0";
  }
}
