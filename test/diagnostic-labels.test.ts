// Labels on related spans: a field error on a lambda's parameter also points at where the
// parameter's type comes from (the source's declared type, or the step that made the records), and
// an unknown field of a named type at the type's declaration; UDF type errors point into the .ts file.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyze, SourceFile } from "../compiler/index.js";
import { ROOT } from "./helpers/cli.js";

function labelsOf(name: string, dir = "check") {
  const base = join(ROOT, "test/fixtures", dir, name);
  const file = new SourceFile("input.flow", readFileSync(join(base, "input.flow"), "utf8"), base);
  return analyze(file).diagnostics.map((d) => ({
    at: `${file.position(d.span.start).line}:${file.position(d.span.start).column}`,
    code: d.code,
    labels: d.labels.map((l) => (l.file ? `${l.file.split("/").pop()}: ${l.message}` : `${file.position(l.span.start).line}:${file.position(l.span.start).column} ${file.text.slice(l.span.start, l.span.end).slice(0, 30)} — ${l.message}`)),
  }));
}

describe("labels on related spans", () => {
  const diags = labelsOf("did-you-mean-and-origins");
  const at = (pos: string) => diags.find((d) => d.at === pos)!;

  it("a field of a source's element points at the source's declared type", () => {
    expect(at("9:36").labels).toEqual(["6:16 Order — `o` is an element of `orders`, declared here"]);
  });

  it("a field of a mapped record points at the expression that made it", () => {
    expect(at("10:17").labels).toEqual(["9:15 { id: o.id, n: len(o.itmes), c — `r` is an element of `{ id: string, n: int, city: unknown, p: unknown, sku: unknown }`, made here"]);
  });

  it("a field of a named type reached through a path points at the type's declaration", () => {
    expect(at("9:77").labels).toEqual(["3:6 Item — `Item` is declared here"]);
  });

  it("a UDF parameter with no Flow type points at the parameter in the .ts file", () => {
    const udf = labelsOf("FLOW2032-type-without-flow-equivalent", "errors");
    expect(udf[0]!.labels).toEqual(["udfs.ts: no Flow equivalent"]);
  });
});
