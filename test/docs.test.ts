// The documentation cannot drift from the compiler: every ```flow block in README.md and docs/
// checks without errors, every ```flow error block has at least one error, every ```flow warning
// block has warnings but no errors, docs/errors.md covers every code, and the README keeps its two
// commands.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ALL_CODES } from "../compiler/diagnostics/codes.js";
import { analyze, SourceFile } from "../compiler/index.js";
import { ROOT } from "./helpers/cli.js";

const files = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

const blocks = files.flatMap((f) => {
  const text = readFileSync(join(ROOT, f), "utf8");
  return [...text.matchAll(/^```flow( error| warning)?\n([\s\S]*?)^```$/gm)].map((m) => ({
    name: `${f}:${text.slice(0, m.index).split("\n").length}`,
    kind: (m[1]?.trim() ?? "ok") as "ok" | "error" | "warning",
    code: m[2]!,
  }));
});

describe("code blocks in the docs", () => {
  it("there are some in every document", () => {
    for (const f of ["README.md", "docs/language.md", "docs/errors.md"]) expect(blocks.some((b) => b.name.startsWith(`${f}:`))).toBe(true);
  });

  it.each(blocks.map((b) => [b.name, b] as const))("%s", (_name, b) => {
    // Imports in the docs' examples name the modules in docs/examples/.
    const diags = analyze(new SourceFile("doc.flow", b.code, join(ROOT, "docs/examples"))).diagnostics;
    const errors = diags.filter((d) => d.severity === "error").map((d) => `${d.code}: ${d.message}`);
    if (b.kind === "ok") expect(errors).toEqual([]);
    else if (b.kind === "error") expect(errors.length).toBeGreaterThan(0);
    else {
      expect(errors).toEqual([]);
      expect(diags.length).toBeGreaterThan(0);
    }
  });
});

describe("docs/errors.md", () => {
  it("explains every code", () => {
    const text = readFileSync(join(ROOT, "docs/errors.md"), "utf8");
    for (const code of ALL_CODES) expect(text, code).toContain(`## ${code}:`);
  });
});

describe("README", () => {
  it("keeps the two commands", () => {
    const text = readFileSync(join(ROOT, "README.md"), "utf8");
    expect(text).toContain("npm install && npx flowc run examples/wordcount-file.flow");
    expect(text).toMatch(/^npm test$/m);
  });
});
