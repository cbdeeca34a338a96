// Phase 1 (parse): golden fixtures under test/fixtures/parse/<case>/ (input.flow → ast.txt and
// diagnostics.txt), plus checks that read better as code: precedence, literal values, spans, the
// token metadata the TextMate grammar is generated from. A case whose name starts with a code
// (FLOW1001-...) must report that code; every other case must parse without diagnostics.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Expr, Item, PipelineStmt } from "../compiler/ast.js";
import { ALL_CODES } from "../compiler/diagnostics/codes.js";
import { renderPlain } from "../compiler/diagnostics/render.js";
import { parse } from "../compiler/phases/1-parse/index.js";
import { printAst } from "../compiler/phases/1-parse/print-ast.js";
import { SourceFile } from "../compiler/source.js";
import { tokenize, tokenMeta } from "../grammar/tokens.js";
import { expectGolden } from "./helpers/golden.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/parse", import.meta.url));
const cases = readdirSync(FIXTURES)
  .filter((d) => existsSync(join(FIXTURES, d, "input.flow")))
  .sort();

describe("parse fixtures", () => {
  for (const name of cases) {
    it(name, () => {
      const file = new SourceFile(`${name}.flow`, readFileSync(join(FIXTURES, name, "input.flow"), "utf8"));
      const { program, diagnostics } = parse(file);
      expectGolden(join(FIXTURES, name, "ast.txt"), printAst(program, file));
      expectGolden(join(FIXTURES, name, "diagnostics.txt"), diagnostics.map((d) => renderPlain(d, () => file)).join("\n"));
      const code = /^FLOW\d{4}/.exec(name)?.[0];
      if (code) expect(diagnostics.map((d) => d.code)).toContain(code);
      else if (!name.startsWith("errors-")) expect(diagnostics).toEqual([]);
      else expect(diagnostics.length).toBeGreaterThan(0);
    });
  }

  it("has a fixture for every syntax code", () => {
    const syntax = ALL_CODES.filter((c) => c.startsWith("FLOW1"));
    expect(syntax.filter((c) => !cases.some((d) => d.startsWith(c)))).toEqual([]);
  });
});

function parseText(text: string) {
  const file = new SourceFile("t.flow", text);
  return { file, ...parse(file) };
}

function valueOf(text: string): Expr {
  const { program, diagnostics } = parseText(`const x = ${text}`);
  expect(diagnostics).toEqual([]);
  const item = program.items[0]!;
  if (item.kind !== "const") throw new Error(`expected a const, got ${item.kind}`);
  return item.value;
}

/** A fully parenthesised rendering of an expression, to state precedence compactly. */
function shape(e: Expr): string {
  switch (e.kind) {
    case "binary":
      return `(${shape(e.left)} ${e.op} ${shape(e.right)})`;
    case "unary":
      return `(${e.op}${shape(e.operand)})`;
    case "conditional":
      return `(${shape(e.test)} ? ${shape(e.then)} : ${shape(e.else)})`;
    case "lambda":
      return `(${e.params.map((p) => p.name).join(",")} => ${shape(e.body)})`;
    case "pipe":
      return `(${shape(e.head)}${e.steps.map((s) => (s.kind === "op" ? ` |> ${s.call.callee.name}` : ` |> sink ${s.connector.callee.name}`)).join("")})`;
    case "name":
      return e.name.name;
    case "int":
    case "float":
      return e.raw;
    case "member":
      return `${shape(e.object)}.${e.property.name}`;
    case "index":
      return `${shape(e.object)}[${shape(e.index)}]`;
    case "call":
      return `${e.callee.name}(${e.args.map((a) => (a.name ? `${a.name.name}: ` : "") + shape(a.value)).join(", ")})`;
    case "paren":
      return `[${shape(e.expr)}]`;
    default:
      return e.kind;
  }
}

describe("expressions", () => {
  it.each([
    ["1 + 2 * 3", "(1 + (2 * 3))"],
    ["1 - 2 - 3", "((1 - 2) - 3)"],
    ["a < b == c > d", "((a < b) == (c > d))"],
    ["a || b && c", "(a || (b && c))"],
    ["a ?? b || c", "(a ?? (b || c))"],
    ["a ? b : c ? d : e", "(a ? b : (c ? d : e))"],
    ["a ?? b ? c : d", "((a ?? b) ? c : d)"],
    ["-a.b[1] * !c", "((-a.b[1]) * (!c))"],
    ["--a", "(-(-a))"],
    ["x => y => x + y", "(x => (y => (x + y)))"],
    ["(a, b) => a ? b : 1", "(a,b => (a ? b : 1))"],
    ["() => 1", "( => 1)"],
    ["(a,) => a", "(a => a)"],
    ["x => a |> f()", "((x => a) |> f)"],
    ["x => (a |> f())", "(x => [(a |> f)])"],
    ["c ? x => 1 : x => 2", "(c ? (x => 1) : (x => 2))"],
    ["(a + b) * c", "([(a + b)] * c)"],
    ["f(a, n: b |> g(), m: c,)", "f(a, n: (b |> g), m: c)"],
    ["a |> f(x => x) |> sink s() as out", "(a |> f |> sink s)"],
  ])("%s", (text, expected) => {
    expect(shape(valueOf(text))).toBe(expected);
  });

  it("reads literal values", () => {
    expect(valueOf("42")).toMatchObject({ kind: "int", value: 42 });
    expect(valueOf("3.5")).toMatchObject({ kind: "float", value: 3.5 });
    expect(valueOf("2.5e-3")).toMatchObject({ kind: "float", value: 0.0025 });
    expect(valueOf("1e3")).toMatchObject({ kind: "float", value: 1000 });
    expect(valueOf(String.raw`"a\n\t\"\\b"`)).toMatchObject({ kind: "string", value: 'a\n\t"\\b' });
    expect(valueOf("true")).toMatchObject({ kind: "bool", value: true });
    const ms = ["250ms", "10s", "5m", "1h", "1d"].map((d) => (valueOf(d) as { ms: number }).ms);
    expect(ms).toEqual([250, 10_000, 300_000, 3_600_000, 86_400_000]);
  });

  it("gives operator, argument-list and pipe spans", () => {
    const text = "const x = a |> f(b + c)";
    const { program } = parseText(text);
    const value = (program.items[0] as { value: Expr }).value;
    if (value.kind !== "pipe" || value.steps[0]?.kind !== "op") throw new Error("expected a pipe");
    const step = value.steps[0];
    expect(text.slice(step.pipeSpan.start, step.pipeSpan.end)).toBe("|>");
    expect(text.slice(step.call.argsSpan.start, step.call.argsSpan.end)).toBe("(b + c)");
    const arg = step.call.args[0]!.value;
    if (arg.kind !== "binary") throw new Error("expected a binary");
    expect(text.slice(arg.opSpan.start, arg.opSpan.end)).toBe("+");
    expect(text.slice(value.span.start, value.span.end)).toBe("a |> f(b + c)");
  });
});

describe("items", () => {
  it("wraps a top-level expression without steps in a pipe", () => {
    const { program, diagnostics } = parseText("lines");
    expect(diagnostics).toEqual([]);
    const stmt = program.items[0] as PipelineStmt;
    expect(stmt.kind).toBe("pipeline");
    expect(stmt.pipe).toMatchObject({ kind: "pipe", steps: [], head: { kind: "name" } });
  });

  it("keeps keywords usable as field, member and argument names", () => {
    const { program, diagnostics } = parseText("type T = { type: string, source?: int }\nconst x = { from: r.type, as: 1 }\nconst y = f(test: 1)");
    expect(diagnostics).toEqual([]);
    expect(program.items.map((i: Item) => i.kind)).toEqual(["type", "const", "const"]);
  });

  it("keeps going after an error: each item's error is reported and the others still parse", () => {
    const { program, diagnostics } = parseText("const a = (1\nconst b = 2\nsource s int = stdin()\nstream t = s |> map(x => x)");
    expect(diagnostics.map((d) => d.code)).toEqual(["FLOW1001", "FLOW1001"]);
    expect(program.items.map((i) => i.kind)).toEqual(["const", "const", "source", "stream"]);
  });

  it("returns a partial tree with Missing nodes", () => {
    const { program } = parseText("const a = 1 +\n");
    expect(program.items[0]).toMatchObject({ kind: "const", value: { kind: "binary", right: { kind: "missing" } } });
  });
});

describe("tokens", () => {
  it("marks exactly the keywords as keywords", () => {
    const keywords = tokenMeta.filter((m) => m.keyword).map((m) => m.text);
    expect(keywords.sort()).toEqual(
      ["pipeline", "import", "from", "type", "const", "config", "source", "stream", "test", "given", "expect", "ordered", "sink", "as", "true", "false"].sort(),
    );
    for (const m of tokenMeta) expect(m.category).toMatch(/^(keyword|operator|punctuation|literal|identifier|comment|whitespace|invalid)$/);
  });

  it("lexes operator, connector and built-in names as identifiers", () => {
    const { tokens } = tokenize("map filter keyBy count window file socket len", "t.flow");
    expect(new Set(tokens.map((t) => t.tokenType.name))).toEqual(new Set(["Identifier"]));
  });

  it("lexes durations as single tokens and glued letters as bad durations", () => {
    const { tokens } = tokenize("250ms 10s 10x 5sec 1.5s 1.5 3", "t.flow");
    expect(tokens.map((t) => t.tokenType.name)).toEqual([
      "DurationLiteral",
      "DurationLiteral",
      "BadDuration",
      "BadDuration",
      "BadDuration",
      "FloatLiteral",
      "IntLiteral",
    ]);
  });
});
