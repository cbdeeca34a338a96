// The operator table and the checker agree: every operator's example is a complete program that
// checks cleanly when the operator is supported, and reports exactly "not supported yet"
// (FLOW2018) when it is not; every operator the checker handles is in the table.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compile, SourceFile } from "../compiler/index.js";
import { OPERATORS, operatorExample } from "../compiler/operators.js";
import { ROOT } from "./helpers/cli.js";

describe("operator table", () => {
  it.each(OPERATORS.map((o) => [o.name, o] as const))("%s: its example compiles (or is reported as not supported yet)", async (_name, o) => {
    const r = await compile(new SourceFile(`${o.name}.flow`, operatorExample(o)));
    const errors = r.diagnostics.filter((d) => d.severity === "error").map((d) => d.code);
    if (o.supported) {
      expect(errors).toEqual([]);
      expect(r.emitted?.js).toContain("export const plan");
    } else {
      expect(errors.length).toBeGreaterThan(0);
      expect(new Set(errors)).toEqual(new Set(["FLOW2018"]));
    }
  });

  it("every operator the checker handles is in the table, and the reverse", () => {
    const checker = readFileSync(join(ROOT, "compiler/phases/2-check/index.ts"), "utf8");
    const handled = [...checker.matchAll(/case "([a-zA-Z]+)":/g)].map((m) => m[1]!).filter((n) => OPERATORS.some((o) => o.name === n) || /^(map|flatMap|filter|keyBy|window|union|watermark|distinct|join)$/.test(n));
    for (const n of handled) expect(OPERATORS.map((o) => o.name)).toContain(n);
    for (const o of OPERATORS.filter((x) => x.kind !== "aggregate")) expect(handled).toContain(o.name);
  });
});
