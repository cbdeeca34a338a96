// Batches between threads as columns: a batch of records whose fields are all numbers or booleans
// (by the plan's type of the channel) travels as one typed array per field, transferred, not
// copied; its keys and event times as typed arrays too. A structured clone of the same batch
// copies object by object, about ten times slower. Whatever does not fit columns (strings, nested
// records, a value that is not what its type says) travels as the batch itself, cloned.
import type { Batch } from "../exec/messages.js";
import type { FlowType } from "../types.js";

/** What goes through a MessagePort for one batch. */
export type EncodedBatch =
  | { kind: "clone"; batch: Batch }
  | {
      kind: "columns";
      count: number;
      /** One per field of the record type (or one for a number element), in field order. */
      columns: (Float64Array | Uint8Array)[];
      /** Keys as numbers, or cloned. */
      keys: Float64Array | unknown[] | null;
      times: Float64Array | null;
    };

export interface BatchCodec {
  /** The encoded batch and the buffers to transfer with it. */
  encode(batch: Batch): { message: EncodedBatch; transfer: ArrayBuffer[] };
  decode(message: EncodedBatch): Batch;
  /** True when records of this type can travel as columns. */
  readonly columnar: boolean;
}

type Column = "number" | "bool";

/** The columns of a type: one per field of a record of numbers and booleans, or one for a number. */
function columnsOf(type: FlowType | undefined): { names: string[] | null; kinds: Column[] } | null {
  const kind = (t: FlowType): Column | null => {
    switch (t.kind) {
      case "int":
      case "float":
      case "timestamp":
      case "duration":
        return "number";
      case "bool":
        return "bool";
      default:
        return null;
    }
  };
  if (!type) return null;
  if (type.kind === "record") {
    // (A field named __proto__ would set the prototype in the decoder's object literal: cloned.)
    if (type.fields.length === 0 || type.fields.some((f) => f.optional || kind(f.type) === null || f.name === "__proto__")) return null;
    return { names: type.fields.map((f) => f.name), kinds: type.fields.map((f) => kind(f.type)!) };
  }
  const k = kind(type);
  return k === null ? null : { names: null, kinds: [k] };
}

/** A codec for batches whose records have this type (the plan's output type of the sending node). */
export function codecFor(type: FlowType | undefined): BatchCodec {
  const shape = columnsOf(type);
  if (!shape) return cloneCodec;
  const { names, kinds } = shape;
  // Reading and building records of one shape: generated once per type, so each loop sees one
  // object shape (as the plan's own code does) instead of looking fields up by name.
  const field = (k: number) => (names === null ? "v" : `v[${JSON.stringify(names[k])}]`);
  const check = kinds.map((c, k) => `typeof ${field(k)} !== "${c === "number" ? "number" : "boolean"}"`).join(" || ");
  const fill = kinds.map((c, k) => `c${k}[i] = ${c === "number" ? field(k) : `${field(k)} ? 1 : 0`};`).join(" ");
  const make = kinds.map((c, k) => (c === "number" ? `c${k}[i]` : `c${k}[i] === 1`));
  const decl = kinds.map((_, k) => `const c${k} = cols[${k}];`).join(" ");
  const alloc = kinds.map((c, k) => `cols[${k}] = new ${c === "number" ? "Float64Array" : "Uint8Array"}(n);`).join(" ");
  const value = names === null ? make[0]! : `{ ${names.map((n, k) => `${JSON.stringify(n)}: ${make[k]}`).join(", ")} }`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const write = new Function("values", "n", `
    const cols = new Array(${kinds.length}); ${alloc} ${decl}
    for (let i = 0; i < n; i++) { const v = values[i]; if (${names === null ? "" : `v === null || typeof v !== "object" || `}${check}) return null; ${fill} }
    return cols;`) as (values: unknown[], n: number) => (Float64Array | Uint8Array)[] | null;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const read = new Function("cols", "n", `${decl} const out = new Array(n); for (let i = 0; i < n; i++) out[i] = ${value}; return out;`) as (
    cols: (Float64Array | Uint8Array)[],
    n: number,
  ) => unknown[];
  return {
    columnar: true,
    encode(batch) {
      const n = batch.values.length;
      const columns = write(batch.values, n);
      if (columns === null) return cloneCodec.encode(batch);
      const transfer = columns.map((c) => c.buffer as ArrayBuffer);
      const keys = numbers(batch.keys);
      if (keys instanceof Float64Array) transfer.push(keys.buffer as ArrayBuffer);
      const times = batch.times ? new Float64Array(batch.times) : null;
      if (times) transfer.push(times.buffer as ArrayBuffer);
      return { message: { kind: "columns", count: n, columns, keys, times }, transfer };
    },
    decode(m) {
      if (m.kind === "clone") return m.batch;
      const values = read(m.columns, m.count);
      const keys = m.keys instanceof Float64Array ? toArray(m.keys) : m.keys;
      const batch: Batch = { values, keys };
      if (m.times) batch.times = toArray(m.times);
      return batch;
    },
  };
}

/** A plain array of the numbers (Array.from walks a typed array through its iterator, several times slower). */
function toArray(a: Float64Array): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]!;
  return out;
}

/** Keys that are all numbers as a typed array; other keys as they are (cloned). */
function numbers(keys: unknown[] | null): Float64Array | unknown[] | null {
  if (keys === null) return null;
  const out = new Float64Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (typeof k !== "number") return keys;
    out[i] = k;
  }
  return out;
}

const cloneCodec: BatchCodec = {
  columnar: false,
  encode: (batch) => ({ message: { kind: "clone", batch }, transfer: [] }),
  decode: (m) => {
    if (m.kind !== "clone") throw new Error("internal: a columnar batch for a type without columns");
    return m.batch;
  },
};
