// Property tests across phases 1-4: random token sequences and mutations of real programs never
// make the parser, the checker, the planner or the emitter throw; every diagnostic lies inside the
// file; a program that checks without errors always plans and emits (no internal error FLOW4001).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyze, compile, SourceFile } from "../compiler/index.js";
import { ROOT } from "./helpers/cli.js";

const programs = [
  ...readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".flow")).map((f) => readFileSync(join(ROOT, "examples", f), "utf8")),
  ...["check", "plan", "emit"].flatMap((phase) =>
    readdirSync(join(ROOT, "test/fixtures", phase)).map((d) => readFileSync(join(ROOT, "test/fixtures", phase, d, "input.flow"), "utf8")),
  ),
];

const TOKENS = [
  ..."source stream sink as type const config test given expect pipeline".split(" "),
  ..."lines w x c map flatMap filter keyBy window tumbling count sum min max avg reduce aggregate union watermark join distinct".split(" "),
  ..."file socket stdin stdout generate split lower len toInt substr".split(" "),
  ..."int float string bool timestamp duration".split(" "),
  ..."0 1 42 3.5 10s 1h".split(" "),
  '"a"', '"[a-z]+"', '"csv"',
  ..."|> => + - * / % == != < <= > >= && || ! ?? ? : . , ( ) [ ] { } =".split(" "),
];

const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 50 }).map((ts) => ts.join(" "));

/** Replace one token-sized piece of a real program with another token: mostly near-valid programs. */
const mutation = fc
  .tuple(fc.constantFrom(...programs), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 12 }), fc.constantFrom(...TOKENS, "")), { minLength: 1, maxLength: 3 }))
  .map(([text, edits]) => {
    let t = text;
    for (const [at, len, token] of edits) {
      const i = at % (t.length + 1);
      t = t.slice(0, i) + token + t.slice(i + len);
    }
    return t;
  });

async function neverThrows(text: string): Promise<void> {
  const file = new SourceFile("fuzz.flow", text);
  const a = analyze(file);
  for (const d of a.diagnostics) {
    expect(d.code).not.toBe("FLOW4001");
    expect(d.span.start).toBeGreaterThanOrEqual(0);
    expect(d.span.end).toBeLessThanOrEqual(text.length);
    expect(d.span.start).toBeLessThanOrEqual(d.span.end);
  }
  if (!a.diagnostics.some((d) => d.severity === "error")) {
    const r = await compile(file);
    expect(r.diagnostics.map((d) => d.code)).not.toContain("FLOW4001");
    expect(r.emitted?.js.length).toBeGreaterThan(0);
  }
}

describe("no phase throws", () => {
  it("on random token sequences", async () => {
    await fc.assert(fc.asyncProperty(soup, neverThrows), { numRuns: 300, seed: 7 });
  });

  it("on mutated real programs", async () => {
    await fc.assert(fc.asyncProperty(mutation, neverThrows), { numRuns: 150, seed: 11 });
  });
});
