// Accumulators for the aggregates count, sum, min, max, avg, reduce and aggregate({...}):
// init → add (one record) → result (the output field's value). Accumulator values are plain
// JSON-safe data so operator state snapshots need no special encoding.
import type { AggregateSpec, ReduceFn, SimpleAggregate, ValueFn } from "../plan.js";

export interface Accumulator {
  init(): unknown;
  add(acc: unknown, record: unknown): unknown;
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
      return { init: () => 0, add: (a) => (a as number) + 1, result: (a, o) => void (o[field] = a) };
    case "sum": {
      const f = fnOf<ValueFn>(fns, spec.fn);
      return { init: () => 0, add: (a, r) => (a as number) + f(r), result: (a, o) => void (o[field] = a) };
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
        result: (a, o) => void (o[field] = a),
      };
    }
    case "avg": {
      const f = fnOf<ValueFn>(fns, spec.fn);
      return {
        init: () => [0, 0],
        add: (a, r) => {
          const s = a as [number, number];
          s[0] += f(r);
          s[1] += 1;
          return s;
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
          if (s.length === 0) s.push(r);
          else s[0] = f(s[0], r);
          return s;
        },
        result: (a, o) => void (o[field] = (a as unknown[])[0]),
      };
    }
  }
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
      for (let i = 0; i < parts.length; i++) s[i] = parts[i]!.add(s[i], r);
      return s;
    },
    result: (a, o) => {
      const s = a as unknown[];
      for (let i = 0; i < parts.length; i++) parts[i]!.result(s[i], o);
    },
  };
}
