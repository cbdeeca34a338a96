// Accumulators for the aggregates count, sum, min, max, avg, reduce and aggregate({...}):
// init → add (one record) → result (the output field's value); merge combines two accumulators
// (session windows that grow together). Accumulator values are plain
// JSON-safe data so operator state snapshots need no special encoding. `add` returns a new value
// and leaves its argument alone, so a record whose function throws (in any field of a multi
// aggregate) changes nothing. Tumbling and sliding windows run the same layout in code generated
// per pipeline (the plan's FoldFn, compiler/phases/4-emit): the two must agree.
import type { AggregateSpec, ReduceFn, SimpleAggregate, ValueFn } from "../plan.js";

export interface Accumulator {
  init(): unknown;
  add(acc: unknown, record: unknown): unknown;
  /** The accumulator of the records of `a` followed by those of `b`. */
  merge(a: unknown, b: unknown): unknown;
  /** Output fields of one key's (and window's) result, written into `into`. */
  result(acc: unknown, into: Record<string, unknown>): void;
}

type Fns = Record<string, unknown>;

function fnOf<F>(fns: Fns, name: string): F {
  const f = fns[name];
  if (typeof f !== "function") throw new Error(`internal: the plan module has no function ${name}`);
  return f as F;
}

function simple(spec: SimpleAggregate, field: string, fns: Fns): Accumulator {
  switch (spec.kind) {
    case "count":
      return { init: () => 0, add: (a) => (a as number) + 1, merge: (a, b) => (a as number) + (b as number), result: (a, o) => void (o[field] = a) };
    case "sum": {
      const f = fnOf<ValueFn>(fns, spec.fn);
      return { init: () => 0, add: (a, r) => (a as number) + f(r), merge: (a, b) => (a as number) + (b as number), result: (a, o) => void (o[field] = a) };
    }
    case "min":
    case "max": {
      const f = fnOf<ValueFn>(fns, spec.fn);
      const better = spec.kind === "min" ? (x: number, y: number) => x < y : (x: number, y: number) => x > y;
      return {
        init: () => null,
        add: (a, r) => {
          const v = f(r);
          return a === null || better(v, a as number) ? v : a;
        },
        merge: (a, b) => (a === null ? b : b === null ? a : better(b as number, a as number) ? b : a),
        result: (a, o) => void (o[field] = a),
      };
    }
    case "avg": {
      const f = fnOf<ValueFn>(fns, spec.fn);
      return {
        init: () => [0, 0],
        add: (a, r) => {
          const s = a as [number, number];
          return [s[0] + f(r), s[1] + 1];
        },
        merge: (a, b) => {
          const [x, y] = [a as [number, number], b as [number, number]];
          return [x[0] + y[0], x[1] + y[1]];
        },
        result: (a, o) => {
          const [sum, n] = a as [number, number];
          o[field] = n === 0 ? 0 : sum / n;
        },
      };
    }
    case "reduce": {
      const f = fnOf<ReduceFn>(fns, spec.fn);
      // Wrapped in a one-element array so that a reduced value of `null` is not mistaken for "empty".
      return {
        init: () => [],
        add: (a, r) => {
          const s = a as unknown[];
          return s.length === 0 ? [r] : [f(s[0], r)];
        },
        merge: (a, b) => {
          const [x, y] = [a as unknown[], b as unknown[]];
          return x.length === 0 ? y : y.length === 0 ? x : [f(x[0], y[0])];
        },
        result: (a, o) => void (o[field] = (a as unknown[])[0]),
      };
    }
  }
}

/** An accumulator to keep in a snapshot while the live one goes on changing: numbers as they are, arrays copied (two levels deep). */
export function copyAcc(acc: unknown): unknown {
  if (typeof acc !== "object" || acc === null) return acc;
  if (!Array.isArray(acc)) return structuredClone(acc);
  // The layouts above nest arrays two deep (aggregate({...}) of avg or reduce), which the generated
  // code changes in place; the values a reduce keeps are cloned (an imported function may change them).
  const out = new Array<unknown>(acc.length);
  for (let i = 0; i < acc.length; i++) {
    const x: unknown = acc[i];
    if (typeof x !== "object" || x === null) out[i] = x;
    else if (!Array.isArray(x)) out[i] = structuredClone(x);
    else out[i] = x.map((y: unknown) => (typeof y === "object" && y !== null ? structuredClone(y) : y));
  }
  return out;
}

/** Name of the output field of a simple aggregate. */
export function resultField(spec: SimpleAggregate): string {
  return spec.kind === "reduce" ? "value" : spec.kind;
}

export function accumulatorFor(spec: AggregateSpec, fns: Fns): Accumulator {
  if (spec.kind !== "multi") return simple(spec, resultField(spec), fns);
  const parts = spec.fields.map((f) => simple(f.aggregate, f.name, fns));
  return {
    init: () => parts.map((p) => p.init()),
    add: (a, r) => {
      const s = a as unknown[];
      const next = new Array<unknown>(parts.length);
      for (let i = 0; i < parts.length; i++) next[i] = parts[i]!.add(s[i], r);
      return next;
    },
    merge: (a, b) => parts.map((p, i) => p.merge((a as unknown[])[i], (b as unknown[])[i])),
    result: (a, o) => {
      const s = a as unknown[];
      for (let i = 0; i < parts.length; i++) parts[i]!.result(s[i], o);
    },
  };
}
