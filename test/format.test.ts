// `flowc fmt`: golden fixtures (test/fixtures/format/<case>/input.flow → formatted.flow), every
// example and every ```flow block of the docs formats to a fixed point with the same AST and the
// same comments, a property test over generated programs (random spacing and comments between
// tokens), and the command line (stdout, --check, --write, syntax errors).
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type * as A from "../compiler/ast.js";
import { format } from "../compiler/format/index.js";
import { parse } from "../compiler/phases/1-parse/index.js";
import { SourceFile } from "../compiler/source.js";
import { flowc, ROOT } from "./helpers/cli.js";
import { expectGolden } from "./helpers/golden.js";

const FIXTURES = join(ROOT, "test/fixtures/format");

/** The tree without positions, and the comments' texts as a sorted list. */
function shape(text: string): { items: unknown; comments: string[]; errors: string[] } {
  const r = parse(new SourceFile("t.flow", text));
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (!k.endsWith("pan")) out[k] = strip(x);
      return out;
    }
    return v;
  };
  return {
    items: strip(r.program.items),
    comments: r.program.comments.map((c: A.Comment) => c.text.trimEnd()).sort(),
    errors: r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message),
  };
}

function fmt(text: string): string {
  const r = format(new SourceFile("t.flow", text));
  if (r.text === undefined) throw new Error(`not formatted: ${r.diagnostics.map((d) => d.message).join("; ")}`);
  return r.text;
}

/** Formats once, checks the AST and comments are kept and that a second format changes nothing. */
function expectStable(text: string): string {
  const once = fmt(text);
  expect(fmt(once), "formatting the formatted text changes it").toBe(once);
  const before = shape(text);
  const after = shape(once);
  expect(after.errors).toEqual([]);
  expect(after.items, "the formatted program parses to another tree").toEqual(before.items);
  expect(after.comments, "comments were lost or changed").toEqual(before.comments);
  return once;
}

describe("golden fixtures", () => {
  const cases = readdirSync(FIXTURES).sort();
  it("there are some", () => expect(cases.length).toBeGreaterThan(3));
  it.each(cases)("%s", (name) => {
    const input = readFileSync(join(FIXTURES, name, "input.flow"), "utf8");
    const out = expectStable(input);
    expectGolden(join(FIXTURES, name, "formatted.flow"), out);
  });
});

describe("examples and docs are fixed points after one format", () => {
  const examples = readdirSync(join(ROOT, "examples"))
    .filter((f) => f.endsWith(".flow"))
    .map((f) => [`examples/${f}`, readFileSync(join(ROOT, "examples", f), "utf8")] as const);
  const docs = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)].flatMap((f) => {
    const text = readFileSync(join(ROOT, f), "utf8");
    return [...text.matchAll(/^```flow[^\n]*\n([\s\S]*?)^```$/gm)].map((m) => [`${f}:${text.slice(0, m.index).split("\n").length}`, m[1]!] as const);
  });

  it("finds them", () => {
    expect(examples.length).toBeGreaterThanOrEqual(3);
    expect(docs.length).toBeGreaterThanOrEqual(10);
  });

  it.each(examples)("%s", (_name, text) => {
    expectStable(text);
  });

  it.each(docs)("%s", (_name, text) => {
    if (shape(text).errors.length > 0) {
      // A block that shows a syntax error is not formatted; its errors are returned instead.
      const r = format(new SourceFile("t.flow", text));
      expect(r.text).toBeUndefined();
      expect(r.diagnostics.length).toBeGreaterThan(0);
      return;
    }
    expectStable(text);
  });
});

describe("comments", () => {
  it("keeps a comment in the middle of an expression, moved before its element", () => {
    const out = expectStable("const a = 1 + /* one */ 2\n");
    expect(out).toBe("/* one */\nconst a = 1 + 2\n");
  });

  it("keeps a trailing comment on its line, and breaks the list it ends", () => {
    expect(expectStable("const a = f(1, // one\n2)\n")).toBe("const a = f(\n  1, // one\n  2,\n)\n");
  });

  it("keeps a file made only of comments", () => {
    expect(expectStable("// only\n\n\n/* comments */\n")).toBe("// only\n\n/* comments */\n");
  });
});

// ---------------------------------------------------------------- generated programs

/** Tokens of a program; `NL` forces a line break there, every other gap gets random trivia. */
type Tokens = string[];
const NL = "\u0000NL";

// Long names make lines that must break, where layout decisions interact.
const ident = fc.constantFrom("a", "b", "x", "words", "user", "ts_1", "aRatherLongStreamName", "anotherQuiteLongIdentifier");
const field = fc.constantFrom("user", "n", "ts", "type", "source", "from", "someLongishFieldName");
const literal = fc.oneof(
  fc.nat({ max: 1000 }).map(String),
  fc.constantFrom("3.5", "1e3", "2.5e-3", '"s"', '"a string long enough to push a line past its width"', '"a \\"q\\" b"', '""', "true", "false", "10s", "250ms", "1h"),
);
const binop = fc.constantFrom("+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "??");

const commaList = (xs: Tokens[], trailing: boolean): Tokens => xs.flatMap((x, i) => (i === 0 ? x : [",", ...x])).concat(trailing && xs.length > 0 ? [","] : []);

const { expr, lambda } = fc.letrec<{ expr: Tokens; lambda: Tokens; arg: Tokens }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    literal.map((t) => [t]),
    ident.map((t) => [t]),
    fc.tuple(fc.constantFrom("-", "!"), tie("expr")).map(([op, e]) => [op, ...e]),
    fc.tuple(tie("expr"), binop, tie("expr")).map(([l, op, r]) => [...l, op, ...r]),
    fc.tuple(tie("expr"), tie("expr"), tie("expr")).map(([c, a, b]) => [...c, "?", ...a, ":", ...b]),
    fc.tuple(tie("expr"), field).map(([e, f]) => [...e, ".", f]),
    fc.tuple(tie("expr"), tie("expr")).map(([e, i]) => [...e, "[", ...i, "]"]),
    fc.tuple(ident, fc.array(tie("arg"), { maxLength: 3 }), fc.boolean()).map(([f, args, t]) => [f, "(", ...commaList(args, t), ")"]),
    tie("expr").map((e) => ["(", ...e, ")"]),
    tie("lambda").map((l) => ["(", ...l, ")"]),
    fc.tuple(fc.array(tie("expr"), { maxLength: 4 }), fc.boolean()).map(([xs, t]) => ["[", ...commaList(xs, t), "]"]),
    fc.tuple(fc.array(fc.tuple(field, tie("expr")), { maxLength: 4 }), fc.boolean()).map(([fs, t]) => ["{", ...commaList(fs.map(([f, e]) => [f, ":", ...e]), t), "}"]),
  ),
  lambda: fc
    .tuple(fc.array(ident, { maxLength: 3 }), fc.boolean(), tie("expr"))
    .map(([ps, paren, body]) => [...(ps.length === 1 && !paren ? ps : ["(", ...commaList(ps.map((p) => [p]), false), ")"]), "=>", ...body]),
  arg: fc.oneof(tie("expr"), tie("lambda"), fc.tuple(field, tie("expr")).map(([n, e]) => [n, ":", ...e])),
}));

const typeExpr: fc.Arbitrary<Tokens> = fc.letrec<{ type: Tokens }>((tie) => ({
  type: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom("int", "string", "timestamp", "Click").map((t) => [t]),
    tie("type").map((t) => [...t, "[", "]"]),
    fc
      .tuple(fc.array(fc.tuple(field, fc.boolean(), tie("type")), { maxLength: 4 }), fc.boolean())
      .map(([fs, commas]) => ["{", ...fs.flatMap(([f, opt, t], i) => [...(i === 0 ? [] : [commas ? "," : NL]), f, ...(opt ? ["?"] : []), ":", ...t]), "}"]),
  ),
})).type;

const connector = fc.tuple(fc.constantFrom("file", "stdout", "stdin", "generate"), fc.array(fc.oneof(literal.map((t) => [t]), fc.tuple(field, literal).map(([n, v]) => [n, ":", v])), { maxLength: 2 })).map(([c, args]) => [c, "(", ...commaList(args, false), ")"]);

const step: fc.Arbitrary<Tokens> = fc.oneof(
  fc.tuple(fc.constantFrom("map", "filter", "keyBy", "flatMap", "sum"), lambda).map(([op, l]) => ["|>", op, "(", ...l, ")"]),
  fc.tuple(fc.constantFrom("count", "window"), fc.array(expr, { maxLength: 1 })).map(([op, a]) => ["|>", op, "(", ...commaList(a, false), ")"]),
  fc.tuple(lambda, literal).map(([l, d]) => ["|>", "watermark", "(", ...l, ",", "delay", ":", d, ")"]),
  fc.tuple(ident, fc.array(fc.tuple(fc.constantFrom("map", "filter"), lambda), { maxLength: 2 })).map(([other, steps]) => ["|>", "union", "(", other, ...steps.flatMap(([op, l]) => ["|>", op, "(", ...l, ")"]), ")"]),
);
const sink = fc.tuple(connector, fc.option(ident, { nil: undefined })).map(([c, as]) => ["|>", "sink", ...c, ...(as ? ["as", as] : [])]);
const pipe = fc.tuple(ident, fc.array(step, { maxLength: 4 })).map(([head, steps]) => [head, ...steps.flat()]);

const item: fc.Arbitrary<Tokens> = fc.oneof(
  ident.map((n) => ["pipeline", n]),
  fc.array(ident, { minLength: 1, maxLength: 3 }).map((ns) => ["import", "{", ...commaList(ns.map((n) => [n]), false), "}", "from", '"./udfs.ts"']),
  fc.tuple(fc.constantFrom("Click", "Pair"), typeExpr).map(([n, t]) => ["type", n, "=", ...t]),
  fc.tuple(ident, expr).map(([n, e]) => ["const", n, "=", ...e]),
  fc.tuple(fc.array(fc.tuple(fc.constantFrom("partitions", "checkpoint"), expr), { maxLength: 3 }), fc.boolean()).map(([es, commas]) => [
    "config",
    "{",
    ...es.flatMap(([k, e], i) => [...(i === 0 ? [] : [commas ? "," : NL]), k, ":", ...e]),
    "}",
  ]),
  fc.tuple(ident, typeExpr, connector).map(([n, t, c]) => ["source", n, ":", ...t, "=", ...c]),
  fc.tuple(ident, pipe).map(([n, p]) => ["stream", n, "=", ...p]),
  fc.tuple(pipe, sink).map(([p, s]) => [...p, ...s]),
  fc.tuple(fc.array(fc.tuple(fc.constantFrom("given", "expect", "expect ordered"), ident, expr), { maxLength: 3 })).map(([stmts]) => [
    "test",
    '"a test"',
    "{",
    ...stmts.flatMap(([kw, n, e]) => [NL, ...kw.split(" "), n, "=", ...e]),
    "}",
  ]),
);

const spacing = fc.constantFrom(" ", " ", " ", " ", "  ", "\n", "\n  ", "\n\n", "\t");
const comment = fc.constantFrom(" /* c */ ", " // note\n", "\n// own line\n");
// Half the programs have no comments (layout decided by width alone), the others a few.
const trivia = fc.oneof(fc.constant(spacing), fc.constant(fc.oneof({ weight: 12, arbitrary: spacing }, { weight: 1, arbitrary: comment })));
const program = fc
  .tuple(fc.array(item, { minLength: 1, maxLength: 6 }), trivia)
  .chain(([items, gap]) => {
    const tokens = items.flatMap((it, i) => (i === 0 ? it : [NL, ...it]));
    return fc.array(gap, { minLength: tokens.length, maxLength: tokens.length }).map((gaps) =>
      tokens.map((t, i) => (t === NL ? "\n" : t + (tokens[i + 1] === NL ? "" : gaps[i]!))).join(""),
    );
  });

describe("generated programs", () => {
  it("parse without syntax errors (the generator is right)", () => {
    fc.assert(
      fc.property(program, (p) => {
        expect(shape(p).errors).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it("format(format(p)) == format(p), and format(p) has the AST and comments of p", () => {
    fc.assert(
      fc.property(program, (p) => {
        expectStable(p);
      }),
      { numRuns: Number(process.env.FMT_RUNS ?? 1000) },
    );
  });
});

// ---------------------------------------------------------------- the command

describe("flowc fmt", () => {
  const messy = "source lines:string=stdin()\nlines|>map(l=>upper(l))|>sink stdout()\n";
  const tidy = "source lines: string = stdin()\nlines\n  |> map(l => upper(l))\n  |> sink stdout()\n";

  it("prints the formatted text", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-fmt-"));
    writeFileSync(join(dir, "a.flow"), messy);
    const r = flowc(["fmt", join(dir, "a.flow")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(tidy);
    expect(readFileSync(join(dir, "a.flow"), "utf8")).toBe(messy);
  });

  it("formats standard input", () => {
    const r = flowc(["fmt"], { input: messy });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(tidy);
  });

  it("--check lists the files that would change and exits 1", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-fmt-"));
    writeFileSync(join(dir, "messy.flow"), messy);
    writeFileSync(join(dir, "tidy.flow"), tidy);
    const r = flowc(["fmt", "--check", join(dir, "messy.flow"), join(dir, "tidy.flow")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`${join(dir, "messy.flow")}\n`);
    expect(flowc(["fmt", "--check", join(dir, "tidy.flow")]).code).toBe(0);
  });

  it("--write rewrites the files", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-fmt-"));
    writeFileSync(join(dir, "a.flow"), messy);
    const r = flowc(["fmt", "--write", join(dir, "a.flow")]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "a.flow"), "utf8")).toBe(tidy);
  });

  it("leaves a file with syntax errors alone, prints its errors and exits 1", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-fmt-"));
    const broken = "source lines: string = stdin()\nlines |> map(l => ) |> sink stdout()\n";
    writeFileSync(join(dir, "b.flow"), broken);
    const r = flowc(["fmt", "--write", join(dir, "b.flow")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("FLOW1001");
    expect(readFileSync(join(dir, "b.flow"), "utf8")).toBe(broken);
  });
});
