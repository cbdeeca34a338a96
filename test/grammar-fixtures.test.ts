// Scope assertions on the TextMate grammar, written the Sublime way in
// test/fixtures/grammar/assertions/*.flow (`//   ^^^^ keyword.control.sink.flow`) and checked by the
// vscode-tmgrammar-test command, run here as a child process on the generated grammar. A test makes
// sure the fixtures assert every scope the grammar gives, and one that a wrong assertion fails.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { GRAMMAR_PATH, keywordScope, knownNames, LITERAL_SCOPES, NAME_SCOPES, SCOPES, symbolScope } from "../grammar/textmate.js";
import { tokenMeta } from "../grammar/tokens.js";
import { ROOT } from "./helpers/cli.js";

const require = createRequire(import.meta.url);
const CLI = join(dirname(require.resolve("vscode-tmgrammar-test/package.json")), "dist/unit.js");
const DIR = join(ROOT, "test/fixtures/grammar/assertions");
const fixtures = readdirSync(DIR).filter((f) => f.endsWith(".flow")).sort();

function runAssertions(files: string[]) {
  const r = spawnSync(process.execPath, [CLI, "--compact", "-g", join(ROOT, GRAMMAR_PATH), ...files], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The scopes the fixture lines `//  ^^^ a.b c.d - e.f` require (before the ` - `). */
function assertedScopes(): Set<string> {
  const scopes = new Set<string>();
  for (const f of fixtures) {
    for (const line of readFileSync(join(DIR, f), "utf8").split("\n")) {
      const m = /^\/\/\s*(?:\^+|<-+)\s+(.*)$/.exec(line);
      if (m) for (const s of m[1]!.split(" - ")[0]!.trim().split(/\s+/)) scopes.add(s);
    }
  }
  return scopes;
}

describe("scope assertions (vscode-tmgrammar-test)", () => {
  it("there is a fixture for each kind of token", () => {
    expect(fixtures).toEqual(["comments.flow", "keywords.flow", "lambdas-records.flow", "literals.flow", "operators.flow", "types.flow"]);
  });

  it.each(fixtures)("%s", (f) => {
    const r = runAssertions([join(DIR, f)]);
    expect(r.output).toContain("run successfuly");
    expect(r.code, r.output).toBe(0);
  });

  it("the fixtures assert every scope the grammar gives to a token", () => {
    const asserted = assertedScopes();
    const expected = new Set<string>([
      ...knownNames().keywords.map(keywordScope),
      ...tokenMeta.filter((m) => m.category === "operator" || m.category === "punctuation").map(symbolScope),
      ...Object.values(LITERAL_SCOPES).flatMap((s) => s.split(" ")),
      ...Object.values(NAME_SCOPES),
      ...Object.values(SCOPES),
    ]);
    expect([...expected].filter((s) => !asserted.has(s))).toEqual([]);
  });

  it("a wrong assertion fails", () => {
    const dir = mkdtempSync(join(tmpdir(), "flow-grammar-"));
    const file = join(dir, "wrong.flow");
    writeFileSync(file, '// SYNTAX TEST "source.flow"\nlines |> sink stdout()\n//       ^^^^ keyword.operator.pipe.flow\n');
    const r = runAssertions([file]);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain("keyword.operator.pipe.flow");
  });
});
