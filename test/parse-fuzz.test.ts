// Property tests of phase 1: whatever the input (random token soup, or the language reference's
// examples cut short and mutated), `parse` returns normally, does not fall back to its internal
// error (FLOW4001), and every span it produces, in diagnostics and in the tree, lies in the file.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "../compiler/phases/1-parse/index.js";
import { SourceFile } from "../compiler/source.js";

const FIXTURES = fileURLToPath(new URL("./fixtures/parse", import.meta.url));
const EXAMPLES = ["wordcount", "test-block", "sessions-join", "items-all-kinds", "named-args-and-nested-pipes"].map((name) =>
  readFileSync(join(FIXTURES, name, "input.flow"), "utf8"),
);

const POOL = [
  // keywords and names
  ..."pipeline import from type const config source stream test given expect ordered sink as true false".split(" "),
  ..."lines clicks map filter keyBy count window tumbling file stdout x y _a B2".split(" "),
  // literals, good and bad
  ..."0 42 3.5 1e3 2.5e-3 250ms 10s 5m 1h 1d 10x 5sec 1.5s 99999999999999999999 1e999".split(" "),
  '"text"',
  '"a\\nb"',
  '"bad \\q"',
  '"open',
  '"',
  "/* c */",
  "/* open",
  "// line",
  // operators and punctuation
  ..."|> => + - * / % == != < <= > >= && || ! ?? ? : . , ( ) [ ] { } =".split(" "),
  // junk
  "#",
  "@",
  "&",
  "|",
  ";",
  "'",
  "`",
  "\\",
  "é",
  "😀",
  "\u0000",
  "\r",
];

const separator = fc.constantFrom(" ", " ", " ", "\n", "\n  ", "", "\t");
const tokenSoup = fc.array(fc.tuple(fc.constantFrom(...POOL), separator), { maxLength: 60 }).map((parts) => parts.map(([t, s]) => t + s).join(""));

const mutated = fc
  .tuple(
    fc.constantFrom(...EXAMPLES),
    fc.array(fc.tuple(fc.constantFrom("truncate", "delete", "insert", "duplicate"), fc.nat(), fc.nat({ max: 40 }), fc.constantFrom(...POOL)), {
      minLength: 1,
      maxLength: 4,
    }),
  )
  .map(([text, edits]) => {
    let t = text;
    for (const [kind, at, len, token] of edits) {
      const i = at % (t.length + 1);
      if (kind === "truncate") t = t.slice(0, i);
      else if (kind === "delete") t = t.slice(0, i) + t.slice(i + len);
      else if (kind === "insert") t = t.slice(0, i) + token + t.slice(i);
      else t = t.slice(0, i) + t.slice(i, i + len) + t.slice(i);
    }
    return t;
  });

/** Every `span` in the tree, found by walking plain objects and arrays. */
function spansOf(node: unknown, out: Array<{ start: number; end: number }> = []): Array<{ start: number; end: number }> {
  if (Array.isArray(node)) for (const n of node) spansOf(n, out);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key.endsWith("pan") && value && typeof value === "object" && "start" in value) out.push(value as { start: number; end: number });
      else spansOf(value, out);
    }
  }
  return out;
}

function checkParse(text: string): void {
  const file = new SourceFile("fuzz.flow", text);
  const { program, diagnostics } = parse(file);
  const inside = (s: { start: number; end: number }) => 0 <= s.start && s.start <= s.end && s.end <= text.length;
  expect(diagnostics.filter((d) => d.code === "FLOW4001").map((d) => d.message)).toEqual([]);
  expect(diagnostics.filter((d) => !inside(d.span)).map((d) => `${d.code} ${JSON.stringify(d.span)}`)).toEqual([]);
  expect(spansOf(program).filter((s) => !inside(s))).toEqual([]);
}

describe("parse never fails", () => {
  it("on random token sequences", () => {
    fc.assert(fc.property(tokenSoup, checkParse), { numRuns: 300 });
  });

  it("on truncated and mutated examples", () => {
    fc.assert(fc.property(mutated, checkParse), { numRuns: 300 });
  });

  it("on every prefix of an example", () => {
    const text = EXAMPLES[2]!;
    for (let i = 0; i <= text.length; i += 7) checkParse(text.slice(0, i));
  });

  it("on deep nesting", () => {
    checkParse("const x = " + "(".repeat(300) + "1" + ")".repeat(300));
    checkParse("const x = " + "[".repeat(300));
    checkParse("const x = " + "-".repeat(300) + "1");
    checkParse("const x = " + "a |> f(".repeat(200));
    // The parser is shared between calls: it must be intact after running out of stack.
    expect(parse(new SourceFile("after.flow", EXAMPLES[0]!)).diagnostics).toEqual([]);
  });

  it("covers every fixture input", () => {
    for (const name of readdirSync(FIXTURES)) {
      try {
        checkParse(readFileSync(join(FIXTURES, name, "input.flow"), "utf8"));
      } catch (e) {
        throw new Error(`${name}: ${String(e)}`);
      }
    }
  });
});
