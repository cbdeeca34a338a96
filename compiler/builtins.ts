// Built-in functions: their types (checked at every call) and the TypeScript each call becomes.
// Adding one: an entry here, a line in docs/language.md, a case in test/builtins.test.ts.
import { T, type FlowType } from "../runtime/types.js";

export interface EmitContext {
  /** A module-level constant holding this regular expression; returns its name. */
  regex(source: string, flags: string): string;
  /** A helper function from the emitted module's prelude (see emit's prelude.ts); returns its name. */
  helper(name: HelperName): string;
}

export type HelperName = "toInt" | "toFloat" | "toString" | "substr";

export interface Builtin {
  name: string;
  /** As shown in docs, hover and signature help. */
  signature: string;
  doc: string;
  minArgs: number;
  maxArgs: number;
  /** Argument positions that must be compile-time constant regular expressions. */
  regexArgs?: number[];
  /** Returns the result type, or a message saying which argument is wrong and why. */
  check(args: FlowType[]): FlowType | { arg: number; expected: string };
  emit(args: string[], ctx: EmitContext, argTypes: FlowType[], constArgs: (string | undefined)[]): string;
}

const isNum = (t: FlowType) => t.kind === "int" || t.kind === "float" || t.kind === "unknown";
const is = (t: FlowType, k: FlowType["kind"]) => t.kind === k || t.kind === "unknown";

function fixed(params: FlowType[], ret: FlowType) {
  return (args: FlowType[]) => {
    for (let i = 0; i < args.length; i++) {
      const p = params[i]!;
      if (!is(args[i]!, p.kind)) return { arg: i, expected: p.kind };
    }
    return ret;
  };
}

const str1 = (name: string, doc: string, js: (s: string) => string): Builtin => ({
  name,
  signature: `${name}(s: string): string`,
  doc,
  minArgs: 1,
  maxArgs: 1,
  check: fixed([T.string], T.string),
  emit: ([s]) => js(s!),
});

const numUnary = (name: string, doc: string, toInt: boolean, js: (x: string) => string): Builtin => ({
  name,
  signature: toInt ? `${name}(x: float): int` : `${name}(x: int | float): int | float`,
  doc,
  minArgs: 1,
  maxArgs: 1,
  check: ([x]) => (isNum(x!) ? (toInt ? T.int : x!) : { arg: 0, expected: "int or float" }),
  emit: ([x]) => js(x!),
});

const minMax = (name: "min" | "max"): Builtin => ({
  name,
  signature: `${name}(a: T, b: T): T   (T: int, float, timestamp or duration)`,
  doc: `The ${name === "min" ? "smaller" : "larger"} of two numbers.`,
  minArgs: 2,
  maxArgs: 2,
  check: ([a, b]) => {
    const ok = (t: FlowType) => isNum(t) || is(t, "timestamp") || is(t, "duration");
    if (!ok(a!)) return { arg: 0, expected: "int, float, timestamp or duration" };
    if (!ok(b!)) return { arg: 1, expected: "int, float, timestamp or duration" };
    if (a!.kind === b!.kind || b!.kind === "unknown") return a!;
    if (a!.kind === "unknown") return b!;
    if (isNum(a!) && isNum(b!)) return T.float;
    return { arg: 1, expected: a!.kind };
  },
  emit: ([a, b]) => `Math.${name}(${a}, ${b})`,
});

export const BUILTINS: Builtin[] = [
  {
    name: "len",
    signature: "len(x: string | T[]): int",
    doc: "Length of a string (in UTF-16 code units) or an array.",
    minArgs: 1,
    maxArgs: 1,
    check: ([x]) => (is(x!, "string") || is(x!, "array") ? T.int : { arg: 0, expected: "string or array" }),
    emit: ([x]) => `${x}.length`,
  },
  str1("lower", "The string in lower case.", (s) => `${s}.toLowerCase()`),
  str1("upper", "The string in upper case.", (s) => `${s}.toUpperCase()`),
  str1("trim", "The string without leading and trailing white space.", (s) => `${s}.trim()`),
  {
    name: "split",
    signature: "split(s: string, regex: string): string[]",
    doc: "Splits `s` at every match of the regular expression `regex` (a constant).",
    minArgs: 2,
    maxArgs: 2,
    regexArgs: [1],
    check: fixed([T.string, T.string], T.array(T.string)),
    emit: ([s], ctx, _t, [, re]) => `${s}.split(${ctx.regex(re!, "")})`,
  },
  {
    name: "contains",
    signature: "contains(s: string, part: string): bool",
    doc: "Whether `part` occurs in `s`.",
    minArgs: 2,
    maxArgs: 2,
    check: fixed([T.string, T.string], T.bool),
    emit: ([s, p]) => `${s}.includes(${p})`,
  },
  {
    name: "startsWith",
    signature: "startsWith(s: string, prefix: string): bool",
    doc: "Whether `s` begins with `prefix`.",
    minArgs: 2,
    maxArgs: 2,
    check: fixed([T.string, T.string], T.bool),
    emit: ([s, p]) => `${s}.startsWith(${p})`,
  },
  {
    name: "endsWith",
    signature: "endsWith(s: string, suffix: string): bool",
    doc: "Whether `s` ends with `suffix`.",
    minArgs: 2,
    maxArgs: 2,
    check: fixed([T.string, T.string], T.bool),
    emit: ([s, p]) => `${s}.endsWith(${p})`,
  },
  {
    name: "substr",
    signature: "substr(s: string, start: int, length?: int): string",
    doc: "The part of `s` from `start` (0-based), `length` characters long or to the end.",
    minArgs: 2,
    maxArgs: 3,
    check: fixed([T.string, T.int, T.int], T.string),
    emit: (args, ctx) => `${ctx.helper("substr")}(${args.join(", ")})`,
  },
  {
    name: "replace",
    signature: "replace(s: string, regex: string, with: string): string",
    doc: "`s` with every match of the regular expression `regex` (a constant) replaced by `with` ($1 refers to a group).",
    minArgs: 3,
    maxArgs: 3,
    regexArgs: [1],
    check: fixed([T.string, T.string, T.string], T.string),
    emit: ([s, , w], ctx, _t, [, re]) => `${s}.replace(${ctx.regex(re!, "g")}, ${w})`,
  },
  {
    name: "matches",
    signature: "matches(s: string, regex: string): bool",
    doc: "Whether the regular expression `regex` (a constant) matches somewhere in `s`.",
    minArgs: 2,
    maxArgs: 2,
    regexArgs: [1],
    check: fixed([T.string, T.string], T.bool),
    emit: ([s], ctx, _t, [, re]) => `${ctx.regex(re!, "")}.test(${s})`,
  },
  {
    name: "toInt",
    signature: "toInt(x: string | float): int",
    doc: "A string parsed as a whole number, or a float truncated toward zero. A string that is not a number fails the record (it is reported and skipped).",
    minArgs: 1,
    maxArgs: 1,
    check: ([x]) => (is(x!, "string") || isNum(x!) ? T.int : { arg: 0, expected: "string, int or float" }),
    emit: ([x], ctx) => `${ctx.helper("toInt")}(${x})`,
  },
  {
    name: "toFloat",
    signature: "toFloat(x: string | int): float",
    doc: "A string parsed as a number, or an int as a float. A string that is not a number fails the record.",
    minArgs: 1,
    maxArgs: 1,
    check: ([x]) => (is(x!, "string") || isNum(x!) ? T.float : { arg: 0, expected: "string, int or float" }),
    emit: ([x], ctx) => `${ctx.helper("toFloat")}(${x})`,
  },
  {
    name: "toString",
    signature: "toString(x: any): string",
    doc: "Text of any value: numbers and booleans as written, strings as they are, arrays and records as JSON.",
    minArgs: 1,
    maxArgs: 1,
    check: () => T.string,
    emit: ([x], ctx) => `${ctx.helper("toString")}(${x})`,
  },
  numUnary("abs", "The absolute value.", false, (x) => `Math.abs(${x})`),
  numUnary("floor", "The largest int not above `x`.", true, (x) => `Math.floor(${x})`),
  numUnary("ceil", "The smallest int not below `x`.", true, (x) => `Math.ceil(${x})`),
  numUnary("round", "`x` rounded to the nearest int (halves away from zero).", true, (x) => `Math.sign(${x}) * Math.round(Math.abs(${x}))`),
  minMax("min"),
  minMax("max"),
];

export const BUILTIN_MAP = new Map(BUILTINS.map((b) => [b.name, b]));
