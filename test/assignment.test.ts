// Task assignment: balanced over slots, sticky across rebalances, every task placed exactly once.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assign } from "../runtime/cluster/assignment.js";

const keys = (n: number, singles = 2) => [...Array.from({ length: n }, (_, p) => `p${p}`), ...Array.from({ length: singles }, (_, i) => `s:node${i}`)];
const count = (m: Record<string, string>, w: string) => Object.entries(m).filter(([k, v]) => k.startsWith("p") && v === w).length;

describe("assign", () => {
  it("balances partitions by slots", () => {
    const m = assign(keys(6), [{ id: "a", slots: 2 }, { id: "b", slots: 2 }, { id: "c", slots: 2 }]);
    expect(["a", "b", "c"].map((w) => count(m, w))).toEqual([2, 2, 2]);
    const n = assign(keys(6), [{ id: "a", slots: 4 }, { id: "b", slots: 2 }]);
    expect(count(n, "a")).toBe(4);
    expect(count(n, "b")).toBe(2);
  });

  it("moves only the dead worker's tasks, and a new worker gets tasks at the next rebalance", () => {
    const ws = [{ id: "a", slots: 2 }, { id: "b", slots: 2 }, { id: "c", slots: 2 }];
    const before = assign(keys(6), ws);
    const after = assign(keys(6), ws.filter((w) => w.id !== "b"), before);
    for (const [k, w] of Object.entries(before)) if (w !== "b") expect(after[k]).toBe(w);
    expect(Object.values(after)).not.toContain("b");
    const grown = assign(keys(6), [...ws, { id: "d", slots: 2 }], {});
    expect(count(grown, "d")).toBeGreaterThan(0);
  });

  it("places every task exactly once on a live worker, within capacity when there is enough", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }), (n, slots) => {
        const ws = slots.map((s, i) => ({ id: `w${i}`, slots: s }));
        const m = assign(keys(n), ws);
        expect(Object.keys(m).sort()).toEqual(keys(n).sort());
        for (const w of Object.values(m)) expect(ws.some((x) => x.id === w)).toBe(true);
        const total = slots.reduce((a, b) => a + b, 0);
        if (n <= total) for (const w of ws) expect(count(m, w.id)).toBeLessThanOrEqual(w.slots);
      }),
      { seed: 3, numRuns: 200 },
    );
  });
});
