// The jsonl sinks' formatter, specialised to the sink's type: the same text as JSON.stringify for
// any number, and for records of the declared fields in declared order (what sources and generated
// code build), missing optional fields and values of another type included. Records of numbers
// are written as bytes, which must give the same text.
import { Writable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { jsonBytesFormatter, jsonFormatter, jsonNumber, openTextSink } from "../runtime/connectors/text-sink.js";
import { JSON_NUMBER_BYTES, jsonNumberBytes } from "../runtime/json-number.js";
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

describe("jsonNumberBytes", () => {
  it("writes every number's JSON.stringify text as bytes, in at most 32, and so does the copy compiled from its source", () => {
    const copy = new Function(`${JSON_NUMBER_BYTES}\nreturn jsonNumberBytes;`)() as typeof jsonNumberBytes;
    fc.assert(fc.property(anyNumber, (x) => {
        for (const write of [jsonNumberBytes, copy]) {
          const b = new Uint8Array(40);
          const end = write(b, 3, x);
          expect(end - 3).toBeLessThanOrEqual(32);
          expect(Buffer.from(b.subarray(3, end)).toString("latin1")).toBe(JSON.stringify(x));
        }
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

describe("jsonBytesFormatter", () => {
  const type: FlowType = {
    kind: "record",
    fields: [
      { name: "key", type: { kind: "int" }, optional: false },
      { name: "sum", type: { kind: "float" }, optional: false },
      { name: "ok", type: { kind: "bool" }, optional: false },
      { name: "wait", type: { kind: "duration" }, optional: false },
      { name: "start", type: { kind: "timestamp" }, optional: false },
      { name: "é", type: { kind: "timestamp" }, optional: false },
    ],
  };
  const line = (f: NonNullable<ReturnType<typeof jsonBytesFormatter>>, v: unknown): string | -1 => {
    const b = new Uint8Array(f.maxBytes + 7);
    b.fill(0xff);
    const end = f.write(v, b, 7);
    if (end < 0) {
      // Nothing written for a value it leaves to the text formatter.
      expect(b.every((x) => x === 0xff)).toBe(true);
      return -1;
    }
    expect(end - 7).toBeLessThanOrEqual(f.maxBytes);
    return Buffer.from(b.subarray(7, end)).toString("utf8");
  };

  it("writes a record of numbers and booleans as JSON.stringify's text and a newline, timestamps repeating or not", () => {
    const time = fc.oneof(anyNumber, fc.constantFrom(1_700_000_000_000, 1_700_000_001_000));
    fc.assert(
      fc.property(fc.array(fc.record({ key: anyNumber, sum: anyNumber, ok: fc.boolean(), wait: anyNumber, start: time, "é": time }), { maxLength: 30 }), (rows) => {
        const f = jsonBytesFormatter(type)!;
        for (const r of rows) expect(line(f, r)).toBe(`${JSON.stringify(r)}\n`);
      }),
      { numRuns: 500 },
    );
  });

  it("leaves to the text formatter a value that is not such a record, or misses a field, or holds another type", () => {
    const f = jsonBytesFormatter(type)!;
    const good = { key: 1, sum: 2.5, ok: true, wait: 3, start: 4, "é": 5 };
    for (const v of [null, undefined, 5, "x", [1], { ...good, key: undefined }, { ...good, sum: "2" }, { ...good, ok: 1 }, { ...good, start: null }, { key: 1 }]) expect(line(f, v)).toBe(-1);
    expect(line(f, good)).toBe(`${JSON.stringify(good)}\n`);
  });

  it("takes only records of numbers and booleans", () => {
    expect(jsonBytesFormatter({ kind: "int" })).toBeUndefined();
    expect(jsonBytesFormatter({ kind: "record", fields: [{ name: "a", type: { kind: "string" }, optional: false }] })).toBeUndefined();
    expect(jsonBytesFormatter({ kind: "record", fields: [{ name: "a", type: { kind: "optional", inner: { kind: "int" } }, optional: true }] })).toBeUndefined();
    expect(jsonBytesFormatter({ kind: "record", fields: [{ name: "__proto__", type: { kind: "int" }, optional: false }] })).toBeUndefined();
  });
});

describe("a jsonl text sink of a record type of numbers", () => {
  it("writes every batch as JSON.stringify's lines, records it writes as text among them, the buffer growing as it must", async () => {
    const type: FlowType = {
      kind: "record",
      fields: [
        { name: "key", type: { kind: "int" }, optional: false },
        { name: "start", type: { kind: "timestamp" }, optional: false },
      ],
    };
    const chunks: Buffer[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(Buffer.from(chunk));
        done();
      },
    });
    const sink = openTextSink(stream, { format: "jsonl", type, header: false, end: true, writeError: (e) => e as never });
    const long = "😀".repeat(5000);
    const batches: unknown[][] = [
      [{ key: 1, start: 1_700_000_000_000 }, { key: -2.5, start: 1_700_000_000_000 }],
      // Short lines first make the next buffer small: a long line of text must grow it.
      Array.from({ length: 50 }, (_, i) => (i === 25 ? { key: long, start: 0 } : { key: i, start: i % 3 === 0 ? NaN : 1_700_000_001_000 })),
      [{ key: 7 }, null, { key: 2 ** 53, start: -0 }],
    ];
    for (const b of batches) sink.write(b);
    await sink.close();
    const expected = batches.flat().map((r) => `${JSON.stringify(r) ?? "null"}\n`).join("");
    expect(Buffer.concat(chunks).toString("utf8")).toBe(expected);
  });
});
