// A flatMap's split(s, pattern) done as a scan of code units (compiler/phases/4-emit/split-scan.ts):
// for every pattern it takes, the pieces are those String.prototype.split gives with the regular
// expression; every other pattern is left to the regular expression.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { splitScan, type SplitScan } from "../compiler/phases/4-emit/split-scan.js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SinkWriter } from "../runtime/connectors/api.js";
import { Job } from "../runtime/exec/job.js";
import type { PlanModule } from "../runtime/plan.js";
import { compileModule } from "./helpers/plan-module.js";

/** The scan as the chain emits it, as a function from a string to its pieces. */
function scanner(scan: SplitScan): (s: string) => string[] {
  const outside = scan.outside("c");
  const runs = scan.runs ? `while (b + 1 < s.length) { const c = s.charCodeAt(b + 1); if (${outside}) break; b++; }` : "";
  return new Function(
    "s",
    `const out = [];
    for (let a = 0, b = 0; b <= s.length; b++) {
      if (b < s.length) { const c = s.charCodeAt(b); if (${outside}) continue; }
      out.push(s.slice(a, b));
      ${runs}
      a = b + 1;
    }
    return out;`,
  ) as (s: string) => string[];
}

/** Units of the patterns the scan takes, and text made of the characters they name and others. */
const CHARS = ["a", "b", "z", "A", "Z", "0", "9", "_", "'", "-", " ", "\t", "\n", "\r", ",", ".", "é", "\u00a0", "\u2028", "\ufeff", "\u3000", "\ud83d", "\ude00", "]", "^", "\\", "+"];
const member = fc.oneof(
  fc.constantFrom("a", "z", "A", "0", "'", " ", ",", ".", "é", "\\s", "\\d", "\\w", "\\t", "\\n", "\\-", "\\]", "\\\\", "\\^", "\\.", "\\b", "-"),
  fc.constantFrom("a-z", "A-Z", "0-9", " -/", "a-a", "\u00a0-\u3000"),
);
const atom = fc.oneof(
  fc.tuple(fc.boolean(), fc.array(member, { minLength: 1, maxLength: 5 })).map(([neg, ms]) => `[${neg ? "^" : ""}${ms.join("")}]`),
  fc.constantFrom(" ", ",", "a", "é", "-", "\\s", "\\S", "\\d", "\\D", "\\w", "\\W", "\\t", "\\.", "\\+", "\\\\"),
);
const valid = (p: string) => {
  try {
    new RegExp(p);
    return true;
  } catch {
    return false; // (`[z-a]`: the compiler rejects it before it gets here)
  }
};
const pattern = fc
  .tuple(atom, fc.boolean())
  .map(([a, plus]) => (plus ? `${a}+` : a))
  .filter(valid);
const text = fc.array(fc.constantFrom(...CHARS), { maxLength: 40 }).map((cs) => cs.join(""));

describe("split as a scan", () => {
  it("gives the pieces split gives, for every pattern it takes and any text", () => {
    fc.assert(
      fc.property(pattern, fc.array(text, { minLength: 1, maxLength: 8 }), (p, texts) => {
        const scan = splitScan(p);
        expect(scan, p).not.toBeNull();
        const run = scanner(scan!);
        const re = new RegExp(p);
        for (const s of texts) expect(run(s), `${JSON.stringify(s)} split at ${p}`).toEqual(s.split(re));
        expect(run("")).toEqual([""]);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads a `-` after a class escape as JavaScript does: no range, and the next member starts afresh", () => {
    // `[\d-a-z]` is \d, `-`, `a`, `-` and `z` (Annex B), not \d, `-` and a to z (found by the property above).
    const all = CHARS.join("") + "bcmy";
    for (const p of ["[\\d-a-z]", "[\\w-a-z]+", "[a-\\d-z]", "[\\s-\\d]", "[\\d-\\--z]", "[^\\d-a-z]", "[\\d-a]"]) {
      const scan = splitScan(p);
      expect(scan, p).not.toBeNull();
      for (const s of [all, "b", "-", "a-z", "m0"]) expect(scanner(scan!)(s), `${JSON.stringify(s)} split at ${p}`).toEqual(s.split(new RegExp(p)));
    }
  });

  it("leaves other patterns to the regular expression", () => {
    for (const p of ["", "ab", "a|b", "\\s*", "[a-z]*", "[a-z]{2}", "[]", "[^]", "[a-z]x", ".", "(a)", "\\b", "\\u0041", "[\\S]", "[^\\W]", "a?", "\\1", "[z-a]", "[\\d-z", "\\x41"]) {
      expect(splitScan(p), JSON.stringify(p)).toBeNull();
    }
  });

  it("is what a compiled flatMap runs: the words counted as the regular expression splits them, fused or not", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-split-"));
    try {
      const program = (name: string, pattern: string) => `pipeline ${name}
source lines: string = stdin(format: "lines")

lines
  |> flatMap(line => split(lower(line), ${JSON.stringify(pattern)}))
  |> filter(w => w != "x")
  |> keyBy(w => w)
  |> window(tumbling(1d))
  |> count()
  |> sink stdout()
`;
      const scanned = await compileModule(dir, "scanned", program("scanned", "[^a-z']+"));
      const kept = await compileModule(dir, "kept", program("kept", "[^a-z']*"));
      const code = (name: string) => readFileSync(join(dir, `${name}.plan.js`), "utf8");
      expect(code("scanned")).toContain("a scan in place of the regular expression");
      expect(code("scanned")).not.toContain("RegExp");
      expect(code("kept")).not.toContain("a scan in place of the regular expression");
      const run = async (mod: PlanModule, lines: string[], fuse: boolean) => {
        const out: string[] = [];
        const sink: SinkWriter = { write: (rs) => void out.push(...rs.map((r) => { const o = r as { key: string; count: number }; return `${o.key}=${o.count}`; })), ready: () => undefined, close: async () => {} };
        const job = new Job(mod, { fuse, sourceOverrides: { lines }, sinkOverride: () => sink });
        await job.open();
        await job.run();
        return out.sort();
      };
      await fc.assert(
        fc.asyncProperty(fc.array(text, { maxLength: 30 }), async (lines) => {
          const want = new Map<string, number>();
          for (const l of lines) for (const w of l.toLowerCase().split(/[^a-z']+/)) if (w !== "x") want.set(w, (want.get(w) ?? 0) + 1);
          const expected = [...want].map(([w, n]) => `${w}=${n}`).sort();
          expect(await run(scanned, lines, true)).toEqual(expected);
          expect(await run(scanned, lines, false)).toEqual(expected);
        }),
        { numRuns: 60 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
