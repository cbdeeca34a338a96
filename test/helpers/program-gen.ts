// A fast-check generator of valid .flow programs: named record types, constants, config, sources
// with their connectors, named streams and pipelines of every operator this release runs, with
// lambdas whose bodies are typed expressions (fc.letrec over the expression forms: literals, field
// access, arithmetic, comparisons, `??`, `? :`, calls of built-ins, indexing, records). Each
// generated expression has the type its position needs, so every program must check, plan and
// emit without an error. Operators the checker reports as "not supported yet" (watermark, join,
// distinct, sliding and session windows) and imports are left out: they are errors by design.
import fc from "fast-check";

export type Prim = "int" | "float" | "string" | "bool" | "duration" | "timestamp";
export type Ty = { k: "prim"; p: Prim } | { k: "array"; of: Prim } | { k: "record"; fields: Field[]; name?: string };
export interface Field {
  name: string;
  ty: Ty;
  optional: boolean;
}

const prim = (p: Prim): Ty => ({ k: "prim", p });

/** A value an expression can use: a lambda parameter, one of its fields (at any depth), a constant. */
interface Var {
  s: string;
  ty: Ty;
  optional: boolean;
}

/** An expression's text; `atom` when it needs no parentheses as an operand. */
interface E {
  s: string;
  atom: boolean;
}

const atom = (s: string): E => ({ s, atom: true });
const comp = (s: string): E => ({ s, atom: false });
const par = (e: E) => (e.atom ? e.s : `(${e.s})`);

function varsOf(s: string, ty: Ty, optional = false): Var[] {
  const out: Var[] = [{ s, ty, optional }];
  if (ty.k === "record" && !optional) for (const f of ty.fields) out.push(...varsOf(`${s}.${f.name}`, f.ty, f.optional));
  return out;
}

const STRINGS = ['"a"', '"hello world"', '""', '"tab\\there"', '"quote \\" inside"', '"back\\\\slash"', '"line\\nbreak"', '"é ü 😀"', '"x"'];
const REGEXES = ['","', '"[^a-z\']+"', '"\\\\s+"', '"(a|b)*c?"', '"^x"'];
const DURATIONS = ["250ms", "1s", "10s", "5m", "1h", "1d", "0ms"];

export interface ExprOptions {
  /** Only what evalConst folds: no calls, `??`, indexing or parameters (constant declarations). */
  constOnly?: boolean;
}

export type ExprArbs = Record<Prim, fc.Arbitrary<E>>;

/** Expressions of each primitive type over the given variables. `timestamp` needs a timestamp variable. */
export function exprArbs(vars: Var[], opts: ExprOptions = {}): ExprArbs {
  const full = !opts.constOnly;
  const named = (p: Prim, optional = false) => vars.filter((v) => v.ty.k === "prim" && v.ty.p === p && v.optional === optional).map((v) => v.s);
  const stringArrays = full ? vars.filter((v) => v.ty.k === "array" && v.ty.of === "string" && !v.optional).map((v) => v.s) : [];
  const depth = { maxDepth: 3, depthIdentifier: fc.createDepthIdentifier(), depthSize: "small" as const };

  return fc.letrec<Record<Prim, E>>((tie) => {
    const T = (p: Prim) => tie(p);
    const pick = (xs: string[]) => (xs.length > 0 ? [fc.constantFrom(...xs).map(atom)] : []);
    const bin = (a: Prim, op: string, b: Prim) => fc.tuple(T(a), T(b)).map(([x, y]) => comp(`${par(x)} ${op} ${par(y)}`));
    const call = (name: string, ...args: fc.Arbitrary<E | string>[]) =>
      full ? [fc.tuple(...args).map((xs) => atom(`${name}(${xs.map((x) => (typeof x === "string" ? x : x.s)).join(", ")})`))] : [];
    const cond = (p: Prim) => fc.tuple(T("bool"), T(p), T(p)).map(([c, a, b]) => comp(`${par(c)} ? ${par(a)} : ${par(b)}`));
    const coalesce = (p: Prim) => {
      const os = full ? named(p, true) : [];
      return os.length > 0 ? [fc.tuple(fc.constantFrom(...os), T(p)).map(([o, d]) => comp(`${o} ?? ${par(d)}`))] : [];
    };
    const neg = (p: Prim) => T(p).map((e) => comp(`-${par(e)}`));
    const index = full
      ? [
          ...(stringArrays.length > 0 ? [fc.tuple(fc.constantFrom(...stringArrays), T("int")).map(([a, i]) => atom(`${a}[${i.s}]`))] : []),
          fc.tuple(T("string"), fc.constantFrom(...REGEXES), fc.nat(3)).map(([s, re, i]) => atom(`split(${s.s}, ${re})[${i}]`)),
        ]
      : [];
    const re = fc.constantFrom(...REGEXES);
    const timestamps = named("timestamp");
    const oneof = (leaf: fc.Arbitrary<E>, ...more: fc.Arbitrary<E>[]) => fc.oneof(depth, leaf, ...more);

    return {
      int: oneof(
        fc.oneof(fc.nat(10_000).map((n) => atom(String(n))), ...pick(named("int"))),
        bin("int", "+", "int"),
        bin("int", "-", "int"),
        bin("int", "*", "int"),
        bin("int", "%", "int"),
        neg("int"),
        cond("int"),
        ...coalesce("int"),
        ...call("len", T("string")),
        ...stringArrays.flatMap((a) => call("len", fc.constant(a))),
        ...call("abs", T("int")),
        ...call("min", T("int"), T("int")),
        ...call("max", T("int"), T("int")),
        ...call("floor", T("float")),
        ...call("round", T("float")),
        ...call("toInt", T("string")),
      ),
      float: oneof(
        fc.oneof(fc.tuple(fc.nat(999), fc.nat(99)).map(([a, b]) => atom(`${a}.${b}`)), ...pick(named("float"))),
        bin("int", "/", "int"),
        bin("float", "+", "int"),
        bin("float", "*", "float"),
        bin("int", "-", "float"),
        neg("float"),
        cond("float"),
        ...coalesce("float"),
        ...call("toFloat", T("int")),
        ...call("abs", T("float")),
      ),
      string: oneof(
        fc.oneof(fc.constantFrom(...STRINGS).map(atom), ...pick(named("string"))),
        bin("string", "+", "string"),
        bin("string", "+", "int"),
        bin("bool", "+", "string"),
        cond("string"),
        ...coalesce("string"),
        ...call("lower", T("string")),
        ...call("upper", T("string")),
        ...call("trim", T("string")),
        ...call("substr", T("string"), T("int")),
        ...call("substr", T("string"), T("int"), T("int")),
        ...call("replace", T("string"), re, T("string")),
        ...call("toString", fc.oneof(T("int"), T("float"), T("bool"))),
        ...index,
      ),
      bool: oneof(
        fc.oneof(fc.constantFrom("true", "false").map(atom), ...pick(named("bool"))),
        ...(["<", "<=", ">", ">=", "==", "!="] as const).map((op) => bin("int", op, "float")),
        bin("string", "==", "string"),
        bin("string", "<", "string"),
        bin("bool", "!=", "bool"),
        bin("duration", ">=", "duration"),
        bin("bool", "&&", "bool"),
        bin("bool", "||", "bool"),
        T("bool").map((e) => comp(`!${par(e)}`)),
        cond("bool"),
        ...coalesce("bool"),
        ...call("contains", T("string"), T("string")),
        ...call("startsWith", T("string"), T("string")),
        ...call("endsWith", T("string"), T("string")),
        ...call("matches", T("string"), re),
        ...(timestamps.length > 0 ? [bin("timestamp", "<", "timestamp")] : []),
      ),
      duration: oneof(
        fc.oneof(fc.constantFrom(...DURATIONS).map(atom), ...pick(named("duration"))),
        bin("duration", "+", "duration"),
        bin("duration", "-", "duration"),
        bin("duration", "*", "int"),
        bin("int", "*", "duration"),
        bin("duration", "%", "duration"),
        cond("duration"),
        ...coalesce("duration"),
        ...(timestamps.length > 0 ? [bin("timestamp", "-", "timestamp")] : []),
      ),
      // Only asked for when there is a timestamp variable (a timestamp has no literal).
      timestamp:
        timestamps.length > 0
          ? oneof(fc.constantFrom(...timestamps).map(atom), bin("timestamp", "+", "duration"), bin("timestamp", "-", "duration"), cond("timestamp"), ...coalesce("timestamp"))
          : fc.constant(atom("0")),
    };
  });
}

// ---------------------------------------------------------------- programs

const FIELD_NAMES = ["a", "b", "user", "url", "n", "ms", "tags", "type", "from", "source", "when", "ok", "name_2", "x"];
const PARAMS = ["x", "r", "e", "item", "v", "_p"];
const PRIMS: Prim[] = ["int", "float", "string", "bool", "duration", "timestamp"];
const KEYABLE: Prim[] = ["int", "string", "bool", "duration", "float"];

function typeText(ty: Ty): string {
  switch (ty.k) {
    case "prim":
      return ty.p;
    case "array":
      return `${ty.of}[]`;
    case "record":
      return ty.name ?? `{ ${ty.fields.map((f) => `${f.name}${f.optional ? "?" : ""}: ${typeText(f.ty)}`).join(", ")} }`;
  }
}

/** A type with named records spelled out: union compares element types structurally. */
function structure(ty: Ty): string {
  return ty.k === "record" ? `{ ${ty.fields.map((f) => `${f.name}${f.optional ? "?" : ""}: ${structure(f.ty)}`).join(", ")} }` : typeText(ty);
}

interface StreamInfo {
  /** How to start a pipeline on it: a source's or stream's name. */
  name: string;
  ty: Ty;
  /** The key's type, for a stream that ends in keyBy. */
  key: Ty | null;
}

type G = fc.GeneratorValue;

const pickOne = <T>(g: G, xs: readonly T[]): T => xs[g(fc.nat, { max: xs.length - 1 })]!;

/** Field types for declared records: primitives (sometimes optional), string arrays, and one nested record. */
function recordType(g: G, name?: string, nested = true): Ty {
  const n = g(fc.integer, { min: 1, max: 5 });
  const names = g(fc.shuffledSubarray, FIELD_NAMES, { minLength: n, maxLength: n });
  const fields: Field[] = names.map((fname) => {
    const kind = g(fc.nat, { max: 9 });
    if (kind === 0) return { name: fname, ty: { k: "array", of: "string" }, optional: false };
    if (kind === 1 && nested) return { name: fname, ty: recordType(g, undefined, false), optional: false };
    return { name: fname, ty: prim(pickOne(g, PRIMS)), optional: g(fc.nat, { max: 3 }) === 0 };
  });
  return name === undefined ? { k: "record", fields } : { k: "record", fields, name };
}

/** An expression's text, ready to stand anywhere a whole expression may (an argument, a field's value, a lambda's body). */
function expr(g: G, vars: Var[], p: Prim, opts?: ExprOptions): string {
  return exprE(g, vars, p, opts).s;
}

function exprE(g: G, vars: Var[], p: Prim, opts?: ExprOptions): E {
  return g(() => exprArbs(vars, opts)[p]);
}

function primWithVars(g: G, vars: Var[], among: readonly Prim[] = PRIMS): Prim {
  const usable = among.filter((p) => p !== "timestamp" || vars.some((v) => v.ty.k === "prim" && v.ty.p === "timestamp" && !v.optional));
  return pickOne(g, usable);
}

/** A record literal of new fields (some copied straight from optional fields, so they stay optional). */
function recordLiteral(g: G, vars: Var[]): { s: string; ty: Ty } {
  const n = g(fc.integer, { min: 1, max: 4 });
  const names = g(fc.shuffledSubarray, FIELD_NAMES, { minLength: n, maxLength: n });
  const fields: Field[] = [];
  const parts: string[] = [];
  for (const name of names) {
    const optionals = vars.filter((v) => v.optional && v.ty.k === "prim");
    if (optionals.length > 0 && g(fc.nat, { max: 4 }) === 0) {
      const v = pickOne(g, optionals);
      fields.push({ name, ty: v.ty, optional: true });
      parts.push(`${name}: ${v.s}`);
      continue;
    }
    const p = primWithVars(g, vars);
    fields.push({ name, ty: prim(p), optional: false });
    parts.push(`${name}: ${expr(g, vars, p)}`);
  }
  return { s: `{ ${parts.join(", ")} }`, ty: { k: "record", fields } };
}

function lambda(g: G, ty: Ty): { param: string; vars: Var[] } {
  const param = pickOne(g, PARAMS);
  return { param, vars: [...varsOf(param, ty), ...CONSTS_IN_SCOPE] };
}

/** Constants declared so far in the program being generated (set by `program`). */
let CONSTS_IN_SCOPE: Var[] = [];

interface Ops {
  text: string[];
  ty: Ty;
  key: Ty | null;
}

/** A sequence of operator steps from a stream of `ty` (keyed by `key`). */
function operators(g: G, start: StreamInfo, streams: StreamInfo[]): Ops {
  const out: string[] = [];
  let ty = start.ty;
  let key = start.key;
  const n = g(fc.integer, { min: 0, max: 5 });
  for (let i = 0; i < n; i++) {
    const choices = ["map", "map", "filter", "filter", "flatMap", "keyBy", "keyBy", ...(key ? ["aggregate", "aggregate", "window"] : []), "union"];
    const op = pickOne(g, choices);
    const l = lambda(g, ty);
    switch (op) {
      case "map": {
        if (g(fc.boolean)) {
          const r = recordLiteral(g, l.vars);
          out.push(`map(${l.param} => ${r.s})`);
          ty = r.ty;
        } else {
          const p = primWithVars(g, l.vars);
          out.push(`map(${l.param} => ${expr(g, l.vars, p)})`);
          ty = prim(p);
        }
        key = null;
        break;
      }
      case "filter":
        out.push(`filter(${l.param} => ${expr(g, l.vars, "bool")})`);
        key = null;
        break;
      case "flatMap": {
        const arrays = l.vars.filter((v) => v.ty.k === "array" && !v.optional);
        const form = g(fc.nat, { max: 2 });
        if (form === 0 && arrays.length > 0) {
          const a = pickOne(g, arrays);
          out.push(`flatMap(${l.param} => ${a.s})`);
          ty = prim((a.ty as { of: Prim }).of);
        } else if (form === 1) {
          out.push(`flatMap(${l.param} => split(${expr(g, l.vars, "string")}, ${pickOne(g, REGEXES)}))`);
          ty = prim("string");
        } else {
          const p = primWithVars(g, l.vars);
          // At least one element: `[]` alone has no element type, so the stream after it would be `unknown`.
          const k = g(fc.integer, { min: 1, max: 3 });
          out.push(`flatMap(${l.param} => [${Array.from({ length: k }, () => expr(g, l.vars, p)).join(", ")}])`);
          ty = prim(p);
        }
        key = null;
        break;
      }
      case "keyBy": {
        if (g(fc.nat, { max: 3 }) === 0) {
          const names = g(fc.shuffledSubarray, FIELD_NAMES, { minLength: 1, maxLength: 3 });
          const fields = names.map((name) => ({ name, ty: prim(primWithVars(g, l.vars, KEYABLE)), optional: false }));
          out.push(`keyBy(${l.param} => { ${fields.map((f) => `${f.name}: ${expr(g, l.vars, (f.ty as { p: Prim }).p)}`).join(", ")} })`);
          key = { k: "record", fields };
        } else {
          const p = primWithVars(g, l.vars, KEYABLE);
          out.push(`keyBy(${l.param} => ${expr(g, l.vars, p)})`);
          key = prim(p);
        }
        break;
      }
      case "window":
      case "aggregate": {
        const windowed = op === "window";
        if (windowed) out.push(`window(tumbling(${pickOne(g, DURATIONS.filter((d) => d !== "0ms"))}))`);
        const agg = aggregate(g, ty);
        out.push(agg.text);
        ty = { k: "record", fields: [{ name: "key", ty: key!, optional: false }, ...agg.fields, ...(windowed ? ["start", "end"].map((name) => ({ name, ty: prim("timestamp"), optional: false })) : [])] };
        key = null;
        break;
      }
      case "union": {
        // The other side: any stream of the same declared type, maybe filtered.
        const same = streams.filter((s) => structure(s.ty) === structure(ty));
        if (same.length === 0) break;
        const other = pickOne(g, same);
        const m = lambda(g, other.ty);
        out.push(g(fc.boolean) ? `union(${other.name})` : `union(${other.name} |> filter(${m.param} => ${expr(g, m.vars, "bool")}))`);
        key = null;
        break;
      }
    }
  }
  return { text: out, ty, key };
}

function aggregate(g: G, ty: Ty): { text: string; fields: Field[] } {
  const simple = (kind: string): { text: string; ty: Ty } => {
    const l = lambda(g, ty);
    switch (kind) {
      case "count":
        return { text: "count()", ty: prim("int") };
      case "sum":
      case "avg": {
        const p = pickOne(g, ["int", "float"] as const);
        return { text: `${kind}(${l.param} => ${expr(g, l.vars, p)})`, ty: prim(kind === "avg" ? "float" : p) };
      }
      case "min":
      case "max": {
        const p = primWithVars(g, l.vars, ["int", "float", "duration", "timestamp"]);
        return { text: `${kind}(${l.param} => ${expr(g, l.vars, p)})`, ty: prim(p) };
      }
      default: {
        // reduce: keep one of the two values.
        const a = pickOne(g, ["a", "acc", "x1"]);
        const b = pickOne(g, ["b", "next", "x2"]);
        const vars = [...varsOf(a, ty), ...varsOf(b, ty), ...CONSTS_IN_SCOPE];
        return { text: `reduce((${a}, ${b}) => ${g(fc.boolean) ? `${par(exprE(g, vars, "bool"))} ? ${a} : ${b}` : b})`, ty };
      }
    }
  };
  const kinds = ["count", "sum", "min", "max", "avg", "reduce"];
  if (g(fc.nat, { max: 2 }) > 0) {
    const kind = pickOne(g, kinds);
    const s = simple(kind);
    return { text: s.text, fields: [{ name: kind === "reduce" ? "value" : kind, ty: s.ty, optional: false }] };
  }
  const n = g(fc.integer, { min: 1, max: 4 });
  const names = g(fc.shuffledSubarray, FIELD_NAMES.filter((f) => f !== "key"), { minLength: n, maxLength: n });
  const parts = names.map((name) => ({ name, ...simple(pickOne(g, kinds)) }));
  return { text: `aggregate({ ${parts.map((p) => `${p.name}: ${p.text}`).join(", ")} })`, fields: parts.map((p) => ({ name: p.name, ty: p.ty, optional: false })) };
}

function sourceConnector(g: G, ty: Ty, i: number): string {
  const record = ty.k === "record";
  return pickOne(g, [
    `file("in/s${i}.${record ? "jsonl" : "txt"}"${record ? ', format: "jsonl"' : ""})`,
    record ? `file("in/s${i}.csv", format: "csv")` : `file("in/s${i}.txt", format: "lines")`,
    record ? 'stdin(format: "jsonl")' : "stdin()",
    `socket("localhost", ${9000 + i})`,
    `generate(count: ${g(fc.nat, { max: 1000 })}, rate: ${g(fc.nat, { max: 100 })})`,
  ]);
}

function sinkConnector(g: G, i: number): string {
  return pickOne(g, ["stdout()", 'stdout(format: "csv")', `file("out/p${i}")`, `file("out/p${i}", format: "jsonl")`, `socket("localhost", ${7000 + i})`]);
}

const layout = (g: G, head: string, steps: string[]) =>
  steps.length === 0 ? head : g(fc.boolean) ? `${head} |> ${steps.join(" |> ")}` : `${head}\n  |> ${steps.join("\n  |> ")}`;

/** A whole program: its text, and how many pipelines and named sinks it has (for the tests' sanity). */
export const validProgram: fc.Arbitrary<string> = fc.gen().map((g) => {
  const items: string[] = [];
  CONSTS_IN_SCOPE = [];
  if (g(fc.boolean)) items.push(`pipeline job_${g(fc.nat, { max: 99 })}`);
  if (g(fc.boolean)) {
    const p = g(fc.integer, { min: 1, max: 8 });
    const entries = [`partitions: ${p}`, ...(g(fc.boolean) ? [`checkpoint: ${pickOne(g, ["5s", "1m", "250ms"])}`] : []), ...(g(fc.boolean) ? ["keyGroups: 64"] : []), ...(g(fc.boolean) ? ["batchSize: 100"] : [])];
    items.push(g(fc.boolean) ? `config { ${entries.join(", ")} }` : `config {\n  ${entries.join("\n  ")}\n}`);
  }
  const types: Ty[] = [];
  for (let i = 0, n = g(fc.nat, { max: 2 }); i < n; i++) {
    const t = recordType(g, `T${i}`);
    types.push(t);
    const fields = (t as { fields: Field[] }).fields.map((f) => `${f.name}${f.optional ? "?" : ""}: ${typeText(f.ty)}`);
    items.push(g(fc.boolean) ? `type T${i} = { ${fields.join(", ")} }` : `type T${i} = {\n  ${fields.join("\n  ")}\n}`);
  }
  for (let i = 0, n = g(fc.nat, { max: 3 }); i < n; i++) {
    const p = pickOne(g, ["int", "float", "string", "bool", "duration"] as const);
    items.push(`const k${i} = ${expr(g, CONSTS_IN_SCOPE, p, { constOnly: true })}`);
    CONSTS_IN_SCOPE.push({ s: `k${i}`, ty: prim(p), optional: false });
  }
  const streams: StreamInfo[] = [];
  for (let i = 0, n = g(fc.integer, { min: 1, max: 3 }); i < n; i++) {
    const form = g(fc.nat, { max: 3 });
    const ty: Ty = form === 0 ? prim("string") : form === 1 || types.length === 0 ? recordType(g) : pickOne(g, types);
    items.push(`source s${i}: ${typeText(ty)} = ${sourceConnector(g, ty, i)}`);
    streams.push({ name: `s${i}`, ty, key: null });
  }
  for (let i = 0, n = g(fc.nat, { max: 2 }); i < n; i++) {
    const from = pickOne(g, streams);
    const ops = operators(g, from, streams);
    items.push(`stream st${i} = ${layout(g, from.name, ops.text)}`);
    streams.push({ name: `st${i}`, ty: ops.ty, key: ops.key });
  }
  for (let i = 0, n = g(fc.integer, { min: 1, max: 3 }); i < n; i++) {
    const from = pickOne(g, streams);
    const ops = operators(g, from, streams);
    items.push(`${layout(g, from.name, [...ops.text, `sink ${sinkConnector(g, i)}${g(fc.boolean) ? ` as out${i}` : ""}`])}`);
  }
  const sep = () => pickOne(g, ["\n", "\n\n", "\n// a comment\n", "\n/* block\n comment */\n"]);
  return items.map((it) => it + sep()).join("");
});
