// Batches as columns between threads (runtime/transport/columns.ts): a batch comes back as it went,
// through a real MessagePort with its buffers transferred, whether it travelled as columns or, for
// types and values that do not fit them, as a clone.
import fc from "fast-check";
import { MessageChannel } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import type { Batch } from "../runtime/exec/messages.js";
import { codecFor, type EncodedBatch } from "../runtime/transport/columns.js";
import { T, type FlowType } from "../runtime/types.js";

const RECORD = T.record([
  { name: "key", type: T.int, optional: false },
  { name: "value", type: T.float, optional: false },
  { name: "ok", type: T.bool, optional: false },
  { name: "ts", type: T.timestamp, optional: false },
]);

/** Sends the encoded batch through a MessagePort, as a thread would, and decodes what arrives. */
async function roundTrip(type: FlowType | undefined, batch: Batch): Promise<{ back: Batch; sent: EncodedBatch; transferred: number }> {
  const codec = codecFor(type);
  const { port1, port2 } = new MessageChannel();
  const { message, transfer } = codec.encode(batch);
  const got = new Promise<EncodedBatch>((resolve) => port2.once("message", resolve));
  port1.postMessage(message, transfer);
  const arrived = await got;
  port1.close();
  return { back: codec.decode(arrived), sent: message, transferred: transfer.length };
}

const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, NaN, Infinity, 2 ** 53));

describe("batches as columns", () => {
  it("records of numbers and booleans travel as one transferred column per field, keys and times too", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ key: fc.integer(), value: number, ok: fc.boolean(), ts: fc.integer() }), { minLength: 1, maxLength: 50 }), async (values) => {
        const batch: Batch = { values, keys: values.map((v) => v.key), times: values.map((v) => v.ts) };
        const { back, sent, transferred } = await roundTrip(RECORD, batch);
        expect(sent.kind).toBe("columns");
        expect(transferred).toBe(6);
        expect(back).toEqual(batch);
        // The same shape as the plan makes: the fields in declared order.
        expect(Object.keys(back.values[0] as object)).toEqual(["key", "value", "ok", "ts"]);
      }),
    );
  });

  it("numbers of a number element type travel as a column; keys that are not all numbers as a clone", async () => {
    const batch: Batch = { values: [1, -0, NaN, 2.5], keys: ["a", "b", "a", "c"] };
    const { back, sent } = await roundTrip(T.float, batch);
    expect(sent.kind === "columns" && Array.isArray(sent.keys)).toBe(true);
    expect(back).toEqual(batch);
    expect(Object.is(back.values[1], -0)).toBe(true);
    expect(back.times).toBeUndefined();
  });

  it("a value that is not what its type says travels as a clone, unchanged", async () => {
    for (const values of [[{ key: 1, value: "x", ok: true, ts: 0 }], [{ key: 1, value: 2, ok: 1, ts: 0 }], [null], [3]] as unknown[][]) {
      const batch: Batch = { values, keys: null };
      const { back, sent } = await roundTrip(RECORD, batch);
      expect(sent.kind).toBe("clone");
      expect(back).toEqual(batch);
    }
  });

  it("types without columns travel as clones: strings, nested records, arrays, optional fields, no type", async () => {
    const types: (FlowType | undefined)[] = [
      T.string,
      T.array(T.int),
      T.record([{ name: "a", type: T.string, optional: false }]),
      T.record([{ name: "a", type: T.record([{ name: "b", type: T.int, optional: false }]), optional: false }]),
      T.record([{ name: "a", type: T.int, optional: true }]),
      undefined,
    ];
    for (const type of types) {
      expect(codecFor(type).columnar).toBe(false);
      const batch: Batch = { values: [{ a: "x" }, "y", [1]], keys: [1, 2, 3], times: [5, 6, 7] };
      const { back, sent } = await roundTrip(type, batch);
      expect(sent.kind).toBe("clone");
      expect(back).toEqual(batch);
    }
  });

  it("a record with a field named __proto__ travels as a clone, its field kept", async () => {
    const type = T.record([
      { name: "__proto__", type: T.int, optional: false },
      { name: "a", type: T.int, optional: false },
    ]);
    expect(codecFor(type).columnar).toBe(false);
    const value = Object.defineProperty({ a: 2 }, "__proto__", { value: 1, enumerable: true, writable: true, configurable: true });
    const { back } = await roundTrip(type, { values: [value], keys: null });
    expect(Object.getOwnPropertyNames(back.values[0])).toEqual(["a", "__proto__"]);
  });

  it("field names that are not identifiers are kept", async () => {
    const type = T.record([
      { name: "a b", type: T.int, optional: false },
      { name: '"q"', type: T.bool, optional: false },
    ]);
    const batch: Batch = { values: [{ "a b": 1, '"q"': false }], keys: null };
    const { back, sent } = await roundTrip(type, batch);
    expect(sent.kind).toBe("columns");
    expect(back).toEqual(batch);
  });
});
