// Error routing end to end through `flowc run`: with `errors: NAME` on a source, the lines that fail
// parsing or validation become records of the stream NAME (line, message, text, origin) and reach
// whatever sink it goes to; the good records are processed as before, and the bad ones are still
// counted and reported.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { flowc, ROOT } from "./helpers/cli.js";

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "flowc-errors-"));
  cpSync(join(ROOT, "test/fixtures/error-routing"), work, { recursive: true });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function readJsonlDir(dir: string): Record<string, unknown>[] {
  return readdirSync(dir)
    .filter((x) => x.startsWith("part-"))
    .flatMap((f) => readFileSync(join(dir, f), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>));
}

describe("errors: NAME", () => {
  it("sends the records that fail parsing or validation to the error stream's sink", () => {
    const r = flowc(["run", join(work, "orders.flow"), "--progress", "none"]);
    expect(r.code).toBe(0);
    const rejected = readJsonlDir(join(work, "out/rejected")).sort((a, b) => (a.line as number) - (b.line as number));
    expect(rejected.map((x) => x.line)).toEqual([2, 4, 5]);
    expect(rejected[0]).toEqual({ line: 2, problem: 'field `amount`: expected float, found "lots"', text: '{"id": 2, "amount": "lots", "item": "coffee"}', file: "orders.jsonl" });
    expect(rejected[1]!.problem).toMatch(/^invalid JSON/);
    expect(rejected[2]!.problem).toMatch(/amount/);
    // The good records went on as before.
    const totals = readJsonlDir(join(work, "out/totals"));
    const last = new Map(totals.map((t) => [t.key, t.sum]));
    expect(Object.fromEntries(last)).toEqual({ tea: 10.5, cake: 4 });
    // Still counted and reported.
    expect(r.stderr).toContain("bad records:  3");
    expect(r.stderr).toContain("bad record at orders.jsonl:2 (source `orders`)");
  });

  it("shows the error stream as a source node of its own in the plan", () => {
    const r = flowc(["explain", join(work, "orders.flow")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/source badOrders: errors\(orders\) → \{ source: string, origin: string, line: int, message: string, text: string \}/);
  });
});
