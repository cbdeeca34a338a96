// generate(count, rate, seed): deterministic synthetic records of the declared element type, for
// tests and benchmarks. Record n (0-based) depends only on the type, n and the seed, so every run
// with the same arguments produces the same records:
//
//   int → n              float → n + 0.5          bool → n % 2 == 0
//   timestamp → 1_700_000_000_000 + n * 1000 (one record per second from 2023-11-14T22:13:20Z)
//   duration → n ms      string → a word from VOCABULARY, picked by a PRNG seeded with (seed, n)
//   array → 1 to 3 elements (length from the PRNG); element i is generated as record n + i
//   record → field by field in declared order; an optional field is missing when n % 3 == 2
//
// rate > 0 paces output to about `rate` records per second, in small batches on a timer.
import { setTimeout as sleep } from "node:timers/promises";
import type { FlowType } from "../types.js";
import type { SourceConnector, SourceReader } from "./api.js";
import { ConnectorArgs } from "./args.js";

export const VOCABULARY = [
  "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
  "stream", "flow", "data", "window", "key", "value", "event", "time",
] as const;

export const FIRST_TIMESTAMP = 1_700_000_000_000;

/** Batches of a paced generator are at most this far apart, so output looks continuous. */
const PACING_INTERVAL_MS = 50;

export const generateSource: SourceConnector = {
  kind: "source",
  async open(spec, ctx) {
    const args = new ConnectorArgs(spec);
    const from = typeof ctx.resume?.produced === "number" ? ctx.resume.produced : 0;
    return new GenerateReader(ctx.elementType, args.int("count"), args.int("rate"), args.int("seed"), ctx.batchSize, ctx.signal, from);
  },
};

class GenerateReader implements SourceReader {
  private produced: number;
  private startedAt: number | undefined;
  private readonly closing = new AbortController();
  private readonly signal: AbortSignal;
  private readonly batchSize: number;
  private readonly rng = new Rng();
  /**
   * Fills a batch with records `from`…, by code built for the element type (see filler), when the
   * first batch is made: a reader whose chain makes the records itself (nextRange) never needs it.
   */
  private fill: ((batch: unknown[], from: number, k: number, rng: Rng, seed: number) => void) | undefined;

  constructor(
    private readonly type: FlowType,
    private readonly count: number,
    private readonly rate: number,
    private readonly seed: number,
    batchSize: number,
    signal: AbortSignal,
    /** Where a resumed generator starts (its checkpointed position); pacing counts from here. */
    private readonly from = 0,
  ) {
    this.produced = from;
    this.signal = AbortSignal.any([signal, this.closing.signal]);
    this.batchSize = rate > 0 ? Math.max(1, Math.min(batchSize, Math.ceil((rate * PACING_INTERVAL_MS) / 1000))) : batchSize;
  }

  async next(): Promise<unknown[] | undefined> {
    const range = await this.nextRange();
    return range === undefined ? undefined : this.records(range.from, range.count);
  }

  /**
   * The next batch's place (SourceReader.nextRange): the reader moves past it without making its
   * records. Unpaced, it may hold up to `most` records: with no records made, a batch costs no memory.
   */
  async nextRange(most = this.batchSize): Promise<{ from: number; count: number } | undefined> {
    if (this.signal.aborted) return undefined;
    const from = this.produced;
    const k = Math.min(this.rate > 0 ? this.batchSize : Math.max(this.batchSize, most), this.count - from);
    if (k <= 0) return undefined;
    if (this.rate > 0) {
      // The batch is due when its last record is: the first batch waits too, so n records take about n / rate seconds.
      this.startedAt ??= performance.now();
      const wait = this.startedAt + ((from - this.from + k) * 1000) / this.rate - performance.now();
      if (wait > 0) {
        this.waiting = true;
        try {
          await sleep(wait, undefined, { signal: this.signal });
        } catch {
          return undefined;
        } finally {
          this.waiting = false;
        }
      }
    }
    this.produced = from + k;
    return { from, count: k };
  }

  records(from: number, count: number): unknown[] {
    const batch = new Array<unknown>(count);
    (this.fill ??= filler(this.type))(batch, from, count, this.rng, this.seed);
    return batch;
  }

  progress() {
    return { done: this.produced, total: this.count, unit: "records" as const };
  }

  private waiting = false;

  idle(): boolean {
    return this.waiting;
  }

  position() {
    return { produced: this.produced };
  }

  async close(): Promise<void> {
    this.closing.abort();
  }
}

/** Record n of a generator with this seed: the same value for the same arguments, always. */
export function generateValue(type: FlowType, n: number, seed: number, rng: Rng = new Rng()): unknown {
  rng.reset(seed, n);
  return maker(type)(n, rng);
}

/**
 * The loop filling a batch with records of this type. Compiled for each reader (new Function): in a
 * loop shared by every generator in the process, the call of the record maker would see every
 * plan's maker and be left a call per record; here it sees one and is inlined. Types that draw
 * nothing from the PRNG are made by their recordExpression, written into the loop; the others
 * reseed the PRNG per record.
 */
function filler(t: FlowType): (batch: unknown[], from: number, k: number, rng: Rng, seed: number) => void {
  const expr = recordExpression(t, "n");
  if (expr !== undefined) {
    return new Function(`return (batch, from, k) => {\nfor (let i = 0; i < k; i++) {\nconst n = from + i;\nbatch[i] = ${expr};\n}\n};`)() as never;
  }
  return new Function("make", "return (batch, from, k, rng, seed) => {\nfor (let i = 0; i < k; i++) {\nrng.reset(seed, from + i);\nbatch[i] = make(from + i, rng);\n}\n};")(maker(t)) as never;
}

/**
 * JavaScript for record `n` of a generator of this type (`n`: the text of an expression, used as
 * an operand), for the types that draw nothing from the PRNG: int, float, bool, timestamp,
 * duration, and optionals and records of them. Undefined for the others (strings, arrays).
 * The reader's fill loop and the compiler's loops that make a generator's records themselves
 * (the plan's ChainNode.foldInto.generated) both use it, so the two cannot disagree.
 */
export function recordExpression(t: FlowType, n: string): string | undefined {
  switch (t.kind) {
    case "int":
    case "duration":
    case "unknown":
      return `(${n})`;
    case "float":
      return `(${n} + 0.5)`;
    case "bool":
      return `(${n} % 2 === 0)`;
    case "timestamp":
      return `(${FIRST_TIMESTAMP} + ${n} * 1000)`;
    case "optional":
      return recordExpression(t.inner, n);
    case "record": {
      const fields: string[] = [];
      for (const f of t.fields) {
        const e = recordExpression(f.type, n);
        if (e === undefined) return undefined;
        // (`__proto__` as a computed key: a plain one would set the prototype.)
        fields.push(`${f.name === "__proto__" ? '["__proto__"]' : JSON.stringify(f.name)}: ${f.optional ? `${n} % 3 === 2 ? undefined : ${e}` : e}`);
      }
      return `{ ${fields.join(", ")} }`;
    }
    case "string":
    case "array":
      return undefined;
  }
}

/** `value` for one type, with the dispatch on the type done once: what the reader runs per record (types drawing from the PRNG). */
function maker(t: FlowType): (n: number, rng: Rng) => unknown {
  const expr = recordExpression(t, "n");
  if (expr !== undefined) return new Function("n", `return ${expr};`) as (n: number) => unknown;
  switch (t.kind) {
    case "string":
      return (_n, rng) => VOCABULARY[rng.below(VOCABULARY.length)];
    case "optional":
      return maker(t.inner);
    case "array": {
      const element = maker(t.element);
      return (n, rng) => {
        const out = new Array<unknown>(1 + rng.below(3));
        for (let i = 0; i < out.length; i++) out[i] = element(n + i, rng);
        return out;
      };
    }
    case "record": {
      // An object literal with the fields in declared order, built once per type: records of one
      // shape from one site, which a loop assigning fields by name would not give V8.
      const makers = t.fields.map((f) => maker(f.type));
      // (`__proto__` as a computed key: a plain one would set the prototype.)
      const fields = t.fields.map((f, i) => `${f.name === "__proto__" ? '["__proto__"]' : JSON.stringify(f.name)}: ${f.optional ? "n % 3 === 2 ? undefined : " : ""}m[${i}](n, rng)`);
      return new Function("m", `return (n, rng) => ({ ${fields.join(", ")} });`)(makers) as (n: number, rng: Rng) => unknown;
    }
    default:
      throw new Error(`internal: ${t.kind} records have a recordExpression`);
  }
}

/** mulberry32, reseeded per record from (seed, n) so that record n does not depend on the ones before it. */
export class Rng {
  private state = 0;

  reset(seed: number, n: number): void {
    // A murmur3-style mix, so that neighbouring (seed, n) pairs start far apart.
    let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ n ^ Math.floor(n / 0x100000000);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    this.state = (h ^ (h >>> 16)) | 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = Math.imul(this.state ^ (this.state >>> 15), 1 | this.state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}
