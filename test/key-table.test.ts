// KeyTable, a window's keyed state, against a Map as the model: same lookups, same size, entries in
// the order a Map iterates them, keys compared as a Map compares them.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hashKeyId, KeyTable } from "../runtime/operators/key-table.js";
import type { KeyId } from "../runtime/plan.js";

const keyIds: fc.Arbitrary<KeyId> = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom("", "a", "é", "😀", "x".repeat(300), '{"a":1}'),
  fc.integer({ min: -40, max: 40 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, NaN, Infinity, -Infinity, 2 ** 31, -(2 ** 31), 2 ** 53 + 2, 1.7e12, 0.1),
  fc.boolean(),
);

type Op = { set: KeyId; value: number } | { get: KeyId };
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    fc.record({ set: keyIds, value: fc.integer() }),
    fc.record({ get: keyIds }),
  ),
  { maxLength: 400 },
);

function order(t: KeyTable<number>): [KeyId, number][] {
  const out: [KeyId, number][] = [];
  for (let i = 0; i < t.size; i++) out.push([t.idAt(i), t.valueAt(i)]);
  return out;
}

describe("KeyTable", () => {
  it("agrees with a Map on every lookup, on its size and on the order of its entries, whatever size it expected", () => {
    fc.assert(
      // (`expected`: the size of the window before, which a new window's table starts at; more or
      // fewer entries than that may come.)
      fc.property(ops, fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 600 })), (script, expected) => {
        const table = new KeyTable<number>(expected);
        const model = new Map<KeyId, number>();
        for (const op of script) {
          if ("set" in op) {
            table.set(op.set, op.value);
            model.set(op.set, op.value);
          } else expect(table.get(op.get)).toBe(model.get(op.get));
          expect(table.size).toBe(model.size);
        }
        expect(order(table)).toEqual([...model]);
        for (const k of model.keys()) expect(table.get(k)).toBe(model.get(k));
      }),
      { numRuns: 300 },
    );
  });

  it("holds many keys of one kind through its growth (ints, near integers, strings)", () => {
    const table = new KeyTable<number>();
    const n = 100_000;
    for (let i = 0; i < n; i++) table.set(i * 7919, i);
    for (let i = 0; i < n; i++) table.set(`w${i}`, -i);
    for (let i = 0; i < n; i++) table.set(i + 0.5, i);
    expect(table.size).toBe(3 * n);
    for (let i = 0; i < n; i += 997) {
      expect(table.get(i * 7919)).toBe(i);
      expect(table.get(`w${i}`)).toBe(-i);
      expect(table.get(i + 0.5)).toBe(i);
    }
    expect(table.get(-1)).toBeUndefined();
    expect(table.get("w")).toBeUndefined();
    expect(table.get(n + 0.5)).toBeUndefined();
  });

  it("compares keys as a Map does: one NaN, -0 is 0, 1 is not '1' or true", () => {
    const table = new KeyTable<string>();
    table.set(NaN, "nan").set(-0, "zero").set(1, "one").set("1", "text").set(true, "true");
    expect(table.get(Number("x"))).toBe("nan");
    expect(table.get(0)).toBe("zero");
    expect(table.size).toBe(5);
    expect([table.get(1), table.get("1"), table.get(true), table.get(false)]).toEqual(["one", "text", "true", undefined]);
    expect(hashKeyId(NaN)).toBe(hashKeyId(0 / 0));
    expect(hashKeyId(-0)).toBe(hashKeyId(0));
  });

  it("can be walked by position while entries are added (a snapshot read as the records go on)", () => {
    const table = new KeyTable<number>();
    for (let i = 0; i < 10; i++) table.set(i, i);
    const seen: KeyId[] = [];
    for (let at = 0; at < table.size; at++) {
      seen.push(table.idAt(at));
      if (at < 1000) table.set(`k${at}`, at); // growing the table as it is read
    }
    expect(seen.length).toBe(1010);
    expect(seen.slice(0, 12)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, "k0", "k1"]);
    expect(seen.at(-1)).toBe("k999");
  });
});
