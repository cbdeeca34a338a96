// The jsonl sinks' formatter, specialised to the sink's type: the same text as JSON.stringify for
// any number, and for records of the declared fields in declared order (what sources and generated
// code build), missing optional fields and values of another type included.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonFormatter, jsonNumber } from "../runtime/connectors/text-sink.js";
import type { FlowType } from "../runtime/types.js";

const anyNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
  fc.constantFrom(0, -0, 2 ** 30, 2 ** 30 - 1, -(2 ** 30), 1e9, 1e9 - 1, 1e9 + 1, 2 ** 53, -(2 ** 53), 1e21, NaN, Infinity, -Infinity),
);

describe("jsonNumber", () => {
  it("writes every number as JSON.stringify does", () => {
    fc.assert(fc.property(anyNumber, (x) => {
        expect(jsonNumber(x)).toBe(JSON.stringify(x));
      }), { numRuns: 5000 });
  });
});

describe("jsonFormatter", () => {
  const type: FlowType = {
    kind: "record",
    fields: [
      { name: "key", type: { kind: "string" }, optional: false },
      { name: "sum", type: { kind: "int" }, optional: false },
      { name: "mean", type: { kind: "optional", inner: { kind: "float" } }, optional: true },
      { name: "ok", type: { kind: "bool" }, optional: false },
      { name: "tags", type: { kind: "array", element: { kind: "string" } }, optional: false },
      { name: "start", type: { kind: "timestamp" }, optional: false },
    ],
  };
  const format = jsonFormatter(type);
  const value = fc.oneof(anyNumber, fc.string(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.string(), { maxLength: 3 }));

  it("writes records of the type as JSON.stringify does, whatever their fields hold", () => {
    fc.assert(
      fc.property(fc.string(), anyNumber, fc.option(anyNumber, { nil: undefined }), fc.boolean(), fc.array(fc.string(), { maxLength: 3 }), anyNumber, (key, sum, mean, ok, tags, start) => {
        const r = { key, sum, mean, ok, tags, start };
        expect(format(r)).toBe(JSON.stringify(r));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(value, value, value, value, value, value, (key, sum, mean, ok, tags, start) => {
        const r = { key, sum, mean, ok, tags, start };
        expect(format(r)).toBe(JSON.stringify(r));
      }),
      { numRuns: 2000 },
    );
  });

  it("writes a run of records as JSON.stringify does, timestamps repeating, changing and missing (the last one's text is kept)", () => {
    const ts: FlowType = {
      kind: "record",
      fields: [
        { name: "key", type: { kind: "int" }, optional: false },
        { name: "start", type: { kind: "timestamp" }, optional: false },
        { name: "end", type: { kind: "optional", inner: { kind: "timestamp" } }, optional: true },
      ],
    };
    const time = fc.oneof(fc.constantFrom(1_700_000_000_000, 1_700_000_001_000, 0, -0, NaN, -1), fc.integer({ min: 1_600_000_000_000, max: 1_600_000_000_003 }));
    const row = fc.record({ key: fc.oneof(fc.integer(), fc.constant(undefined)), start: fc.oneof(time, time, fc.constant("x")), end: fc.option(time, { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(row, { maxLength: 40 }), (rows) => {
        const f = jsonFormatter(ts);
        for (const r of rows) expect(f(r)).toBe(JSON.stringify(r));
      }),
      { numRuns: 500 },
    );
  });

  it("writes what is not a record as JSON.stringify does", () => {
    for (const v of [null, 5, "x", [1, 2], true]) expect(format(v)).toBe(JSON.stringify(v));
    expect(format(undefined)).toBe("null");
  });

  it("leaves a field named __proto__ to JSON.stringify", () => {
    const f = jsonFormatter({ kind: "record", fields: [{ name: "__proto__", type: { kind: "int" }, optional: false }, { name: "a", type: { kind: "int" }, optional: false }] });
    expect(f({ a: 1 })).toBe('{"a":1}');
  });

  it("writes numbers of number types as JSON.stringify does", () => {
    const f = jsonFormatter({ kind: "timestamp" });
    fc.assert(fc.property(anyNumber, (x) => {
        expect(f(x)).toBe(JSON.stringify(x));
      }));
  });
});
