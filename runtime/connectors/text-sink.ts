// The writer behind every text sink (file part, stdout, socket): formats each batch as lines in
// the sink's format and writes it to a Writable in one call, reporting the stream's fullness
// through ready() so the runtime can pause the sources.
//
// Formats: `lines` writes strings as they are and anything else as JSON; `jsonl` one JSON value per
// line (fields holding undefined, the missing optional ones, are left out); `csv` a header row of
// the field names, then one row per record (arrays and records as JSON inside the cell).
//
// A stream error is kept and surfaces from the next ready() or from close(): write() is called from
// the middle of an operator's batch and has nowhere to report it.
import type { Writable } from "node:stream";
import { JSON_NUMBER_BYTES } from "../json-number.js";
import type { FlowType, RecordField } from "../types.js";
import type { SinkWriter } from "./api.js";
import { ConnectorError } from "./api.js";
import type { TextFormat } from "./args.js";
import { formatCsvLine } from "./csv.js";
import { errorCode } from "./system-errors.js";
import { csvHeader, toCsvRow, toLine } from "./validate.js";

export interface TextSinkOptions {
  format: TextFormat;
  type: FlowType;
  /** Write the csv header row first (false for all but one writer of a shared stream). */
  header: boolean;
  /** End the stream on close; false for streams the sink does not own, like process.stdout. */
  end: boolean;
  /** Treat a closed pipe as the reader having left (stdout piped into `head`): drop the rest quietly. */
  quietOnClosedPipe?: boolean;
  /** The message for a stream that fails. */
  writeError(error: unknown): ConnectorError;
}

export function openTextSink(stream: Writable, opts: TextSinkOptions): SinkWriter {
  return new TextSinkWriter(stream, opts);
}

/** One value as one line of text (without the newline). */
export function lineFormatter(format: TextFormat, type: FlowType): (value: unknown) => string {
  switch (format) {
    case "lines":
      return toLine;
    case "jsonl":
      return jsonFormatter(type);
    case "csv":
      return (v) => formatCsvLine(toCsvRow(v, type));
  }
}

/**
 * JSON.stringify's text for values of this type, faster for records of scalars and for numbers.
 * Records come with their declared fields in declared order (sources and generated code build
 * them so), which is the order JSON.stringify would write; a field holding undefined is left out
 * as it does. Most of JSON.stringify's time on results was turning timestamps, numbers beyond
 * 2^30, into text, which jsonNumber does from two small integers.
 */
export function jsonFormatter(type: FlowType): (value: unknown) => string {
  const generic = (v: unknown) => JSON.stringify(v) ?? "null";
  const numeric = (t: FlowType): boolean =>
    t.kind === "int" || t.kind === "float" || t.kind === "timestamp" || t.kind === "duration" || (t.kind === "optional" && numeric(t.inner));
  if (numeric(type)) return new Function("g", `${NUMBER_TEXT}\nreturn (v) => (typeof v === "number" ? n(v) : g(v));`)(generic) as (value: unknown) => string;
  // (`v["__proto__"]` would read the prototype, not a field.)
  if (type.kind !== "record" || type.fields.length === 0 || type.fields.some((f) => f.name === "__proto__")) return generic;
  // One function per record type: `x.f` loads at fixed names, which a loop over the fields would not give.
  // A timestamp field keeps the text of its last value: a window's results share their start and
  // end, and turning a timestamp into text was the most of a row's time.
  const timestamp = (t: FlowType): boolean => t.kind === "timestamp" || (t.kind === "optional" && timestamp(t.inner));
  const cached = type.fields.flatMap((f, i) => (timestamp(f.type) ? [`let l${i} = NaN, t${i} = "";`] : []));
  const text = (f: RecordField, i: number) =>
    !numeric(f.type) ? `j(x${i})` : `(typeof x${i} === "number" ? ${timestamp(f.type) ? `(x${i} === l${i} ? t${i} : ((l${i} = x${i}), (t${i} = n(x${i}))))` : `n(x${i})`} : j(x${i}))`;
  const loads = type.fields.map((f, i) => `const x${i} = v[${JSON.stringify(f.name)}];`);
  // Every field present (required ones always are): one expression. Otherwise field by field,
  // leaving out those holding undefined as JSON.stringify does.
  const whole = `"{" + ${type.fields.map((f, i) => `${JSON.stringify(`${i === 0 ? "" : ","}${JSON.stringify(f.name)}:`)} + ${text(f, i)}`).join(" + ")} + "}"`;
  const parts = type.fields.map((f, i) => `if (x${i} !== undefined) { s += (s === "" ? "" : ",") + ${JSON.stringify(`${JSON.stringify(f.name)}:`)} + ${text(f, i)}; }`);
  const body = `${NUMBER_TEXT}
${cached.join("\n")}
return (v) => {
if (v === null || typeof v !== "object" || Array.isArray(v)) return g(v);
${loads.join("\n")}
if (${type.fields.map((_, i) => `x${i} !== undefined`).join(" && ")}) return ${whole};
let s = "";
${parts.join("\n")}
return "{" + s + "}";
};`;
  return new Function("j", "g", body)((x: unknown) => JSON.stringify(x), generic) as (value: unknown) => string;
}

/**
 * A jsonl line written as bytes, for records whose fields are all numbers (int, float, timestamp,
 * duration) or booleans: `write(v, b, o)` puts the line of `v` and its newline into `b` from `o`,
 * with at least `maxBytes` free there, and returns where it ended; or -1, writing nothing, for a
 * value that is not such a record with every field present and of its type (the caller formats
 * that one as text). No string is made per field or per row: a window's results were mostly
 * strings of digits joined, then encoded once more into the stream's buffer.
 */
export interface JsonBytes {
  maxBytes: number;
  write(v: unknown, b: Uint8Array, o: number): number;
}

export function jsonBytesFormatter(type: FlowType): JsonBytes | undefined {
  const number = (t: FlowType): boolean => t.kind === "int" || t.kind === "float" || t.kind === "timestamp" || t.kind === "duration";
  if (type.kind !== "record" || type.fields.length === 0) return undefined;
  if (type.fields.some((f) => f.name === "__proto__" || !(number(f.type) || f.type.kind === "bool"))) return undefined;
  const bytes = (text: string) => [...Buffer.from(text, "utf8")].map((c) => `b[o++] = ${c};`).join(" ");
  // (Every number JSON.stringify writes, "-1.7976931348623157e+308" the longest, fits in 32 bytes.)
  let maxBytes = 2;
  const loads: string[] = [];
  const writes: string[] = [];
  const cached: string[] = [];
  type.fields.forEach((f, i) => {
    const head = `${i === 0 ? "{" : ","}${JSON.stringify(f.name)}:`;
    maxBytes += Buffer.byteLength(head) + 32;
    const isBool = f.type.kind === "bool";
    loads.push(`const x${i} = v[${JSON.stringify(f.name)}]; if (typeof x${i} !== "${isBool ? "boolean" : "number"}") return -1;`);
    if (isBool) writes.push(`${bytes(head)}\nif (x${i}) { ${bytes("true")} } else { ${bytes("false")} }`);
    else if (f.type.kind === "timestamp") {
      // A window's results share their start and end: the bytes of the last one are kept.
      cached.push(`let l${i} = NaN, n${i} = 0; const t${i} = new Uint8Array(32);`);
      writes.push(
        `${bytes(head)}\nif (x${i} === l${i}) { for (let k = 0; k < n${i}; k++) b[o + k] = t${i}[k]; o += n${i}; } else { const s = o; o = jsonNumberBytes(b, o, x${i}); l${i} = x${i}; n${i} = o - s; for (let k = 0; k < n${i}; k++) t${i}[k] = b[s + k]; }`,
      );
    } else writes.push(`${bytes(head)}\no = jsonNumberBytes(b, o, x${i});`);
  });
  const body = `${JSON_NUMBER_BYTES}
${cached.join("\n")}
return (v, b, o) => {
if (v === null || typeof v !== "object" || Array.isArray(v)) return -1;
${loads.join("\n")}
${writes.join("\n")}
b[o++] = 125; b[o++] = 10;
return o;
};`;
  return { maxBytes, write: new Function(body)() as JsonBytes["write"] };
}

/**
 * The source of `n(x)`: JSON.stringify(x) for a number x, with integers beyond 2^30 (timestamps)
 * made from two small ones. Every formatter compiles a copy of its own (new Function): one function
 * shared by every sink in the process learns from all of them, and other plans' numbers made it
 * five times slower on one plan's timestamps.
 */
const NUMBER_TEXT = `const Z = ["", "0", "00", "000", "0000", "00000", "000000", "0000000", "00000000"];
function n(x) {
  if (x >= 0 && x < 1073741824 && (x | 0) === x) return "" + x;
  if (Number.isSafeInteger(x)) {
    const a = Math.abs(x);
    const hi = Math.floor(a / 1e9);
    const lo = "" + (a - hi * 1e9);
    return (x < 0 ? "-" : "") + (hi === 0 ? lo : hi + Z[9 - lo.length] + lo);
  }
  return Number.isFinite(x) ? "" + x : "null";
}`;

/** JSON.stringify(x) for a number. */
export const jsonNumber = new Function(`${NUMBER_TEXT}\nreturn n;`)() as (x: number) => string;

class TextSinkWriter implements SinkWriter {
  private readonly format: (value: unknown) => string;
  private error: ConnectorError | undefined;
  /** The reader went away: further output is dropped. */
  private gone = false;
  private drained: Promise<void> | undefined;
  /** jsonl of a record type of numbers: lines written as bytes. */
  private readonly bytes: JsonBytes | undefined;
  /** About how many bytes a line takes (the last batch's average, and a little more). */
  private lineBytes = 64;
  private readonly onError = (e: unknown) => {
    if (this.opts.quietOnClosedPipe && errorCode(e) === "EPIPE") this.gone = true;
    else this.error ??= this.opts.writeError(e);
  };

  constructor(
    private readonly stream: Writable,
    private readonly opts: TextSinkOptions,
  ) {
    this.format = lineFormatter(opts.format, opts.type);
    this.bytes = opts.format === "jsonl" ? jsonBytesFormatter(opts.type) : undefined;
    stream.on("error", this.onError);
    if (opts.header && opts.format === "csv") stream.write(`${formatCsvLine(csvHeader(opts.type))}\n`);
  }

  write(records: readonly unknown[]): void {
    if (this.error || this.gone || records.length === 0) return;
    if (this.bytes) return this.writeBytes(records, this.bytes);
    let text = "";
    for (const r of records) text += `${this.format(r)}\n`;
    this.stream.write(text);
  }

  /** The batch's lines as bytes (jsonBytesFormatter); a record that it cannot write goes as text. */
  private writeBytes(records: readonly unknown[], bytes: JsonBytes): void {
    // Sized by the lines so far, so that a batch's buffer is about as long as its text.
    let b: Buffer = Buffer.allocUnsafe(Math.ceil(records.length * this.lineBytes) + bytes.maxBytes);
    let o = 0;
    for (const r of records) {
      if (b.length - o < bytes.maxBytes) b = grown(b, o, bytes.maxBytes);
      const end = bytes.write(r, b, o);
      if (end >= 0) {
        o = end;
        continue;
      }
      const text = `${this.format(r)}\n`;
      // (At most 3 bytes of UTF-8 per UTF-16 code unit.)
      if (b.length - o < text.length * 3) b = grown(b, o, text.length * 3);
      o += b.write(text, o, "utf8");
    }
    this.lineBytes = Math.max(8, o / records.length) * 1.125;
    this.stream.write(b.subarray(0, o));
  }

  ready(): Promise<void> | undefined {
    if (this.error) return Promise.reject(this.error);
    if (this.gone || !this.stream.writableNeedDrain) return undefined;
    return (this.drained ??= this.waitForDrain().finally(() => (this.drained = undefined)));
  }

  private waitForDrain(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.stream.off("drain", done);
        this.stream.off("close", done);
        this.stream.off("error", done);
        // Read after the sink's own error listener has run, which was attached first.
        if (this.error) reject(this.error);
        else resolve();
      };
      this.stream.on("drain", done);
      this.stream.on("close", done);
      this.stream.on("error", done);
    });
  }

  async close(): Promise<void> {
    try {
      if (this.opts.end) {
        if (!this.stream.destroyed) {
          await new Promise<void>((resolve) => {
            this.stream.end(() => resolve());
            this.stream.once("close", () => resolve());
          });
        }
      } else if (!this.gone && !this.error && this.stream.writableNeedDrain) {
        await this.waitForDrain();
      }
    } finally {
      if (!this.opts.end) this.stream.off("error", this.onError);
    }
    if (this.error) throw this.error;
  }
}

/** A buffer holding `b`'s first `used` bytes with at least `more` free after them. */
function grown(b: Buffer, used: number, more: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(b.length * 2, used + more));
  b.copy(next, 0, 0, used);
  return next;
}
