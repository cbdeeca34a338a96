// `flowc test`: the test blocks of the examples all pass (exit 0), and a file with failing tests
// exits 1 and shows, per failing test, a diff of expected and produced records.
import { describe, expect, it } from "vitest";
import { flowc } from "./helpers/cli.js";

describe("flowc test", () => {
  it("runs every test block of examples/ and they pass", () => {
    const r = flowc(["test", "examples/"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("examples/wordcount-test.flow\n  ✓ counts every word\n  ✓ emits the updated count after every word, in order\n  ✓ no input, no counts\n");
    expect(r.stdout).toContain("examples/clicks.flow\n  ✓ slow clicks, with where they came from\n");
    expect(r.stdout).toMatch(/ok: \d+ passed\n$/);
    expect(r.code).toBe(0);
  });

  it("exits 1 on a failing test and shows the diff of expected and produced records", () => {
    const r = flowc(["test", "test/fixtures/flow-test/failing.flow"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("  ✓ sums per item\n");
    expect(r.stdout).toContain(
      [
        "  ✗ a wrong expectation (test/fixtures/flow-test/failing.flow:17)",
        "      sink `totals`: 2 expected, 2 produced; - 1 expected but not produced, + 1 produced but not expected",
        '        - { key: "cake", sum: 5 }',
        '        + { key: "cake", sum: 4 }',
        '          { key: "tea", sum: 2.5 }',
      ].join("\n"),
    );
    // `expect ordered`: the same records in another order fail, and the diff shows where.
    expect(r.stdout).toContain(
      [
        "  ✗ a wrong order (test/fixtures/flow-test/failing.flow:22)",
        "      sink `totals` (ordered): 2 expected, 2 produced; - 1 expected but not produced, + 1 produced but not expected",
        '        - { key: "cake", sum: 4 }',
        '          { key: "tea", sum: 2.5 }',
        '        + { key: "cake", sum: 4 }',
      ].join("\n"),
    );
    expect(r.stdout).toContain("FAIL: 1 passed, 2 failed");
  });

  it("runs a program over optional fields, nested records, `??` and `? :` as its test expects", () => {
    const r = flowc(["test", "test/fixtures/flow-test/types.flow"]);
    expect(r.stdout).toContain("  ✓ defaults for optional fields and nested records\n");
    expect(r.code).toBe(0);
  });

  it("exits 1 when a file does not compile, with its errors", () => {
    const r = flowc(["test", "test/fixtures/check/test-block/input.flow"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("I cannot find a source named `line`");
    expect(r.stdout).toContain("does not compile, so its tests did not run");
  });
});
