// Fuzzing the compiler with programs. Valid ones, generated (helpers/program-gen.ts), must check,
// plan, explain and emit without a single error, and the emitted TypeScript must type-check.
// Broken ones (every example and generated program with tokens dropped, repeated or swapped; every
// prefix of every example; nesting 500 deep; names of 100 000 characters) must never make a phase
// throw or give up (FLOW4001), must get diagnostics that lie inside the file, and must be done in
// under 2 s each (the bound only says "did not hang": most take milliseconds). FUZZ_SEED=n replays
// another sequence of random cases.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderExplain } from "../compiler/cli/explain.js";
import { hasErrors, type Diagnostic } from "../compiler/diagnostics/diagnostic.js";
import { analyze, compile, planOnly, SourceFile } from "../compiler/index.js";
import { editDistance } from "../compiler/util/suggest.js";
import { tokenize } from "../grammar/tokens.js";
import { ROOT } from "./helpers/cli.js";
import { validProgram } from "./helpers/program-gen.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20240);
/** A failing property stops shrinking after a while: some runs compile, and shrinking runs it hundreds of times. */
const STOP = { interruptAfterTimeLimit: 90_000, markInterruptAsFailure: true };
const LIMIT_MS = 2000;

const EXAMPLES = readdirSync(join(ROOT, "examples"))
  .filter((f) => f.endsWith(".flow"))
  .map((f) => ({ name: f, text: readFileSync(join(ROOT, "examples", f), "utf8") }));

function inside(d: Diagnostic, length: number): string[] {
  const bad: string[] = [];
  for (const [what, s] of [["span", d.span], ...d.labels.map((l) => ["label", l.span] as const)] as const) {
    if (!(0 <= s.start && s.start <= s.end && s.end <= length)) bad.push(`${d.code} ${what} ${JSON.stringify(s)} outside 0..${length}: ${d.message.slice(0, 120)}`);
  }
  return bad;
}

/** Where a failing input goes: shortened, so a failure message stays readable. */
const show = (text: string) => (text.length > 400 ? `${JSON.stringify(text.slice(0, 400))}… (${text.length} chars)` : JSON.stringify(text));

/**
 * Every phase on `text`: parse and check always; plan, explain and emit when there are no errors.
 * Returns the diagnostics of the analysis.
 */
async function robust(text: string, opts: { emit?: boolean } = {}): Promise<{ diagnostics: Diagnostic[]; ts?: string }> {
  const file = new SourceFile("fuzz.flow", text);
  const t0 = performance.now();
  const a = analyze(file);
  const problems = a.diagnostics.flatMap((d) => inside(d, text.length));
  problems.push(...a.diagnostics.filter((d) => d.code === "FLOW4001").map((d) => d.message.slice(0, 300)));
  if (!hasErrors(a.diagnostics)) {
    const p = planOnly(file);
    if (!p.planned) problems.push(`no plan: ${p.analysis.diagnostics.map((d) => d.message.slice(0, 300)).join("; ")}`);
    else for (const format of ["text", "json", "dot", "mermaid"] as const) expect((await renderExplain(p.planned, format)).length).toBeGreaterThan(0);
  }
  const analysed = performance.now() - t0;
  if (analysed > LIMIT_MS) problems.push(`took ${Math.round(analysed)} ms to analyse`);
  let ts: string | undefined;
  if (opts.emit !== false && !hasErrors(a.diagnostics)) {
    const t1 = performance.now();
    const r = await compile(file);
    if (!r.emitted) problems.push(`not emitted: ${r.diagnostics.map((d) => `${d.code} ${d.message.slice(0, 300)}`).join("; ")}`);
    ts = r.emitted?.ts;
    const emitted = performance.now() - t1;
    if (emitted > LIMIT_MS) problems.push(`took ${Math.round(emitted)} ms to emit`);
  }
  // Brackets that do not pair up can never make a valid program.
  if (!balanced(text) && !hasErrors(a.diagnostics)) problems.push("unbalanced brackets, yet no error");
  expect(problems, show(text)).toEqual([]);
  return { diagnostics: a.diagnostics, ...(ts === undefined ? {} : { ts }) };
}

function balanced(text: string): boolean {
  const lexed = tokenize(text, "x.flow");
  if (lexed.diagnostics.length > 0) return true; // an unterminated string or comment hides brackets: no claim
  const stack: string[] = [];
  const pairs = new Map([[")", "("], ["]", "["], ["}", "{"]]);
  for (const t of lexed.tokens) {
    if (t.image === "(" || t.image === "[" || t.image === "{") stack.push(t.image);
    else if (pairs.has(t.image) && stack.pop() !== pairs.get(t.image)) return false;
  }
  return stack.length === 0;
}

const errorsOf = (ds: Diagnostic[]) => ds.filter((d) => d.severity === "error");

beforeAll(async () => {
  // Loading prettier and ts-morph takes a second or more: not the first fuzz case's fault.
  await compile(new SourceFile("warm.flow", EXAMPLES[0]!.text));
});

describe("generated valid programs", () => {
  const out = mkdtempSync(join(tmpdir(), "flowc-fuzz-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  let emitted = 0;

  it("the generator covers the language (a sample has every operator and expression form)", () => {
    const sample = fc.sample(validProgram, { numRuns: 200, seed: SEED, ...STOP }).join("\n");
    for (const form of ["|> map(", "|> flatMap(", "|> filter(", "|> keyBy(", "|> window(tumbling(", "count()", "sum(", "min(", "max(", "avg(", "reduce((", "aggregate({", "|> union(", "stream st", "type T", "const k", "config {", "pipeline job_", " as out", " ?? ", " ? ", "[0]", "=> {", "generate(", "socket(", "file(", "stdin(", "stdout("])
      expect(sample, form).toContain(form);
  });

  it("check, plan, explain and emit without an error", async () => {
    await fc.assert(
      fc.asyncProperty(validProgram, async (text) => {
        const r = await robust(text);
        expect(errorsOf(r.diagnostics).map((d) => `${d.code} ${d.message}`), text).toEqual([]);
        // Keep the emitted modules for the type check below.
        mkdirSync(join(out, `gen${emitted}`));
        writeFileSync(join(out, `gen${emitted++}`, "plan.ts"), r.ts!);
      }),
      { numRuns: 40, seed: SEED, ...STOP },
    );
  });

  it("check without an error, many more of them", () => {
    fc.assert(
      fc.property(validProgram, (text) => {
        const t0 = performance.now();
        const errors = errorsOf(analyze(new SourceFile("gen.flow", text)).diagnostics);
        expect(errors.map((d) => `${d.code} ${d.message}`), text).toEqual([]);
        expect(performance.now() - t0).toBeLessThan(LIMIT_MS);
      }),
      { numRuns: 300, seed: SEED + 1, ...STOP },
    );
  });

  // TS2367 ("this comparison appears to be unintentional") is a known emitter bug: `"a" == "b"`
  // or `(c ? 1 : 2) == 3.5` become `===` between literal types that TypeScript knows never match.
  // The `it.fails` below keeps it in view: it starts failing when the emitter is fixed.
  it("emit TypeScript that type-checks (but for TS2367)", () => {
    expect(emitted).toBeGreaterThan(0);
    const errors = typeCheck(out).filter((l) => !l.includes("error TS2367"));
    expect(errors).toEqual([]);
  });

  it.fails("known bug: a comparison of two literals is emitted as TypeScript that does not type-check", async () => {
    const r = await compile(new SourceFile("literals.flow", 'source s: string = stdin()\ns |> filter(x => "a" == "b") |> sink stdout()\n'));
    const dir = join(out, "literals");
    mkdirSync(dir);
    writeFileSync(join(dir, "plan.ts"), r.emitted!.ts);
    expect(typeCheck(out, "literals")).toEqual([]);
  });
});

/** tsc's complaints about `DIR/*\/plan.ts` (or only DIR/ONLY/plan.ts), one per line. */
function typeCheck(dir: string, only = "*"): string[] {
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "esnext", moduleResolution: "bundler", types: [], paths: { "flowc/runtime": [join(ROOT, "runtime/plan.ts")] } },
      include: [`${only}/plan.ts`],
    }),
  );
  try {
    execFileSync(join(ROOT, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
    return [];
  } catch (e) {
    return (e as { stdout: string }).stdout.split("\n").filter((l) => l.trim() !== "");
  }
}

// ---------------------------------------------------------------- broken programs

/** A file cut into tokens, with the text before each kept so edits preserve the layout. */
function pieces(text: string): { gap: string; token: string }[] {
  const tokens = tokenize(text, "x.flow").tokens;
  const out: { gap: string; token: string }[] = [];
  let at = 0;
  for (const t of tokens) {
    out.push({ gap: text.slice(at, t.startOffset), token: t.image });
    at = t.startOffset + t.image.length;
  }
  out.push({ gap: text.slice(at), token: "" });
  return out;
}

type Edit = { kind: "drop" | "repeat" | "swap"; at: number; other: number };

function mutate(text: string, edits: Edit[]): string {
  const ps = pieces(text);
  for (const e of edits) {
    const n = ps.length - 1;
    if (n <= 0) break;
    const i = e.at % n;
    const j = e.other % n;
    if (e.kind === "drop") ps.splice(i, 1);
    else if (e.kind === "repeat") ps.splice(i, 0, { ...ps[i]!, gap: " " });
    else [ps[i]!.token, ps[j]!.token] = [ps[j]!.token, ps[i]!.token];
  }
  return ps.map((p) => p.gap + p.token).join("");
}

const edits = fc.array(fc.record({ kind: fc.constantFrom("drop", "repeat", "swap") as fc.Arbitrary<Edit["kind"]>, at: fc.nat(), other: fc.nat() }), { minLength: 1, maxLength: 4 });

describe("broken programs", () => {
  it("the mutation really edits tokens", () => {
    expect(mutate("a |> b(c)", [{ kind: "drop", at: 1, other: 0 }])).toBe("a b(c)");
    expect(mutate("a |> b(c)", [{ kind: "repeat", at: 2, other: 0 }])).toBe("a |> b b(c)");
    expect(mutate("a |> b(c)", [{ kind: "swap", at: 3, other: 5 }])).toBe("a |> b)c(");
  });

  it("examples with tokens dropped, repeated or swapped", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...EXAMPLES.map((e) => e.text)), edits, async (text, es) => void (await robust(mutate(text, es)))),
      { numRuns: 400, seed: SEED + 2, ...STOP },
    );
  });

  it("generated programs with tokens dropped, repeated or swapped", async () => {
    await fc.assert(fc.asyncProperty(validProgram, edits, async (text, es) => void (await robust(mutate(text, es), { emit: false }))), { numRuns: 150, seed: SEED + 3, ...STOP });
  });

  it("every prefix of every example", async () => {
    for (const { text } of EXAMPLES) {
      for (let i = 0; i <= text.length; i++) await robust(text.slice(0, i), { emit: i === text.length });
    }
  });
});

describe("deep nesting", () => {
  const head = "source s: int = stdin()\n";
  const N = 500;
  const cases: Record<string, string> = {
    parentheses: `${head}s |> filter(x => ${"(".repeat(N)}x > 1${")".repeat(N)}) |> sink stdout()\n`,
    "unclosed parentheses": `${head}s |> filter(x => ${"(".repeat(N)}x > 1) |> sink stdout()\n`,
    "closers only": `${head}s |> filter(x => x > 1${")".repeat(N)} |> sink stdout()\n`,
    arrays: `const k = ${"[".repeat(N)}1${"]".repeat(N)}\n${head}s |> sink stdout()\n`,
    records: `${head}s |> map(x => ${"{ a: ".repeat(N)}x${" }".repeat(N)}) |> sink stdout()\n`,
    calls: `${head}s |> map(x => ${"abs(".repeat(N)}x${")".repeat(N)}) |> sink stdout()\n`,
    unions: `${head}s |> union(${"s |> union(".repeat(N)}s${")".repeat(N)}) |> sink stdout()\n`,
    "record types": `type T = ${"{ a: ".repeat(N)}int${" }".repeat(N)}\n${head}s |> sink stdout()\n`,
    "array types": `source t: int${"[]".repeat(N)} = stdin()\nt |> sink stdout()\n`,
    minus: `${head}s |> map(x => ${"-".repeat(N)}x) |> sink stdout()\n`,
    "minus, 5000": `${head}s |> map(x => ${"-".repeat(10 * N)}x) |> sink stdout()\n`,
    not: `source b: bool = stdin()\nb |> filter(x => ${"!".repeat(N)}x) |> sink stdout()\n`,
    conditionals: `${head}s |> map(x => ${"x > 1 ? 1 : ".repeat(N)}0) |> sink stdout()\n`,
    "a long sum": `${head}s |> map(x => x${" + x".repeat(10 * N)}) |> sink stdout()\n`,
    "a long ?? chain": `source o: { a?: int } = stdin()\no |> map(x => x.a${" ?? x.a".repeat(N)} ?? 0) |> sink stdout()\n`,
    "a long member chain": `${head}s |> map(x => x${".a".repeat(10 * N)}) |> sink stdout()\n`,
    "a long index chain": `source t: int[] = stdin()\nt |> map(x => x${"[0]".repeat(10 * N)}) |> sink stdout()\n`,
  };

  for (const [name, text] of Object.entries(cases)) {
    it(`${name}: FLOW1008 or another error, and the rest of the file is still checked`, async () => {
      // A mistake after the deep part must still be found.
      const withTypo = `${text}source other: int = stdin()\nother |> fitler(x => x > 0) |> sink stdout()\n`;
      const diags = (await robust(withTypo)).diagnostics;
      const codes = errorsOf(diags).map((d) => d.code);
      if (name !== "closers only") expect(codes).toContain("FLOW1008");
      expect(codes).toContain("FLOW2002");
    });
  }

  it("allows what a person writes: 60 brackets, 120 levels", async () => {
    expect(errorsOf((await robust(`${head}s |> map(x => ${"(".repeat(60)}x${")".repeat(60)}) |> sink stdout()\n`)).diagnostics)).toEqual([]);
    expect(errorsOf((await robust(`${head}s |> map(x => ${"x > 1 ? 1 : ".repeat(60)}0) |> sink stdout()\n`)).diagnostics)).toEqual([]);
  });

  it("leaves the parser intact", () => {
    expect(analyze(new SourceFile("after.flow", EXAMPLES[0]!.text)).diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  });
});

describe("huge names", () => {
  const H = "n".repeat(100_000);
  const cases: Record<string, string> = {
    "a source": `source ${H}: string = stdin()\n${H} |> map(x => x) |> sink stdout() as ${H}\n`,
    "a misspelt source": `source ${H}: string = stdin()\n${H}s |> sink stdout()\n`,
    "a misspelt field": `type T = { ${H}: int }\nsource s: T = stdin()\ns |> map(x => x.${H.slice(1)}q) |> sink stdout()\n`,
    "a misspelt parameter": `source s: string = stdin()\ns |> map(${H} => m${H}) |> sink stdout()\n`,
    "an unknown operator": `source s: string = stdin()\ns |> ${H}(x => x) |> sink stdout()\n`,
    "an unknown type": `source s: ${H} = stdin()\ns |> sink stdout()\n`,
    "an unknown connector": `source s: string = ${H}()\ns |> sink stdout()\n`,
    "a string": `source s: string = stdin()\ns |> map(x => x + "${H}") |> sink stdout()\n`,
    "an unterminated string": `source s: string = stdin()\ns |> map(x => x + "${H}) |> sink stdout()\n`,
    "a number": `const k = ${"9".repeat(100_000)}\n`,
    "a duration": `const k = ${"9".repeat(100_000)}ms\n`,
    "unknown characters": `const k = ${"#".repeat(100_000)}\n`,
    "a comment": `/* ${H}`,
  };
  for (const [name, text] of Object.entries(cases)) {
    it(`${name} of 100 000 characters`, async () => {
      const diags = (await robust(text)).diagnostics;
      if (name === "a source" || name === "a string") expect(errorsOf(diags)).toEqual([]);
      else expect(errorsOf(diags).length).toBeGreaterThan(0);
      if (name.startsWith("a misspelt")) expect(diags.find((d) => d.code === "FLOW2001" || d.code === "FLOW2005")!.hints.join()).toMatch(/did you mean/);
    });
  }

  it("edit distance in a band agrees with the full table", () => {
    const full = (a: string, b: string): number => {
      let prevPrev: number[] = [];
      let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
      for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) {
          cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
          if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j]!, prevPrev[j - 2]! + 1);
        }
        prevPrev = prev;
        prev = cur;
      }
      return prev[b.length]!;
    };
    const s = fc.string({ unit: fc.constantFrom("a", "b", "c"), maxLength: 10 });
    fc.assert(
      fc.property(s, s, fc.nat(12), (a, b, max) => {
        const d = full(a, b);
        expect(editDistance(a, b, max)).toBe(Math.min(d, max + 1));
      }),
      { numRuns: 3000, seed: SEED, ...STOP },
    );
  });
});
