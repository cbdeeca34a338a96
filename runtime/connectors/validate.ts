// Turning raw input into values of a declared FlowType, and values back into text. Sources call
// fromJson (jsonl, after JSON.parse), fromText (a `lines` line or a csv cell) or a CsvRowReader; a
// failure is a message naming the path of the offending part, for the bad-record report. Sinks
// call csvHeader/toCsvRow/toLine.
//
// The rules, shared by every text format:
// - Records keep only their declared fields, in declared order; unknown extra fields are dropped
//   (a permissive schema, as in Spark). A missing or null optional field is stored as a present
//   key holding `undefined`, so every record of a type has the same shape; JSON output omits it.
// - int: an integer number. float: any finite number. bool: true/false.
// - timestamp: integer milliseconds since the epoch, or an ISO-8601 date or date-time string; a
//   date-time without an offset is read as UTC.
// - duration: integer milliseconds, or one Flow duration literal such as "250ms", "10s", "5m",
//   "1h", "1d".
import type { FlowType, RecordField } from "../types.js";
import { typeToString } from "../types.js";

export type Converted = { ok: true; value: unknown } | { ok: false; message: string };

/** Why a value does not fit, with the path to it collected while unwinding. */
class Mismatch {
  path: string[] = [];
  constructor(
    readonly kind: "type" | "missing",
    readonly detail: string,
  ) {}

  message(): string {
    const path = this.path.join("").replace(/^\./, "");
    if (this.kind === "missing") return `missing field \`${path}\``;
    return path === "" ? this.detail : `field \`${path}\`: ${this.detail}`;
  }
}

function result(v: unknown): Converted {
  return v instanceof Mismatch ? { ok: false, message: v.message() } : { ok: true, value: v };
}

// ------------------------------------------------------------------------------- from JSON

/** A JSON value (already parsed) as a value of `type`. */
export function fromJson(value: unknown, type: FlowType): Converted {
  return result(convertJson(value, type));
}

function convertJson(v: unknown, t: FlowType): unknown {
  switch (t.kind) {
    case "string":
      return typeof v === "string" ? v : expected(t, v);
    case "int":
      return Number.isInteger(v) ? v : expected(t, v);
    case "float":
      return typeof v === "number" && Number.isFinite(v) ? v : expected(t, v);
    case "bool":
      return typeof v === "boolean" ? v : expected(t, v);
    case "timestamp":
      if (Number.isInteger(v)) return v;
      if (typeof v === "string") return parseTimestamp(v) ?? expected(t, v);
      return expected(t, v);
    case "duration":
      if (Number.isInteger(v)) return v;
      if (typeof v === "string") return parseDuration(v) ?? expected(t, v);
      return expected(t, v);
    case "optional":
      return v === null || v === undefined ? undefined : convertJson(v, t.inner);
    case "unknown":
      return v;
    case "array": {
      if (!Array.isArray(v)) return expected(t, v);
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) {
        const e = convertJson(v[i], t.element);
        if (e instanceof Mismatch) {
          e.path.unshift(`[${i}]`);
          return e;
        }
        out[i] = e;
      }
      return out;
    }
    case "record": {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return expected(t, v);
      const obj = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of t.fields) {
        // hasOwn: a field named like `constructor` must not read Object.prototype.
        const fv = Object.hasOwn(obj, f.name) ? obj[f.name] : undefined;
        let c: unknown;
        if (fv === undefined || fv === null) {
          if (f.optional) c = undefined;
          else if (fv === null) c = convertJson(fv, f.type);
          else c = new Mismatch("missing", "");
        } else {
          c = convertJson(fv, f.type);
        }
        if (c instanceof Mismatch) {
          c.path.unshift(`.${f.name}`);
          return c;
        }
        out[f.name] = c;
      }
      return out;
    }
  }
}

function expected(t: FlowType, found: unknown): Mismatch {
  return new Mismatch("type", `expected ${describeType(t)}, found ${describeValue(found)}`);
}

function describeType(t: FlowType): string {
  if (t.kind === "record" && !t.name) return "a record";
  if (t.kind === "array") return `an array (${typeToString(t)})`;
  return typeToString(t);
}

/** A found value, short enough for a one-line message. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object" && v !== null) return "an object";
  return shorten(JSON.stringify(v), 40);
}

export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

// ------------------------------------------------------------------------------- from text

/**
 * The text of a csv cell or of a `lines` line as a value of `type`. Scalars are read from their
 * text form; arrays and records are read as JSON (what the sinks write into a cell).
 */
export function fromText(text: string, type: FlowType): Converted {
  return result(convertText(text, type));
}

const INT = /^-?\d+$/;
const FLOAT = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

function convertText(s: string, t: FlowType): unknown {
  switch (t.kind) {
    case "string":
    case "unknown":
      return s;
    case "int":
      return INT.test(s) ? Number(s) : expected(t, s);
    case "float":
      return FLOAT.test(s) ? Number(s) : expected(t, s);
    case "bool": {
      const l = s.toLowerCase();
      return l === "true" ? true : l === "false" ? false : expected(t, s);
    }
    case "timestamp":
      return INT.test(s) ? Number(s) : (parseTimestamp(s) ?? expected(t, s));
    case "duration":
      return parseDuration(s) ?? expected(t, s);
    case "optional":
      return s === "" ? undefined : convertText(s, t.inner);
    case "array":
    case "record": {
      let parsed: unknown;
      try {
        parsed = JSON.parse(s);
      } catch {
        return new Mismatch("type", `expected ${describeType(t)} written as JSON, found ${describeValue(s)}`);
      }
      return convertJson(parsed, t);
    }
  }
}

// ------------------------------------------------------------------------------- csv rows

/** Reads the rows of a csv file whose header is known. */
export interface CsvRowReader {
  read(cells: readonly string[]): Converted;
}

/**
 * Maps a header onto `type`. A record type takes each field from the column of the same name
 * (header names are trimmed; extra columns are ignored; an empty cell of an optional field is
 * missing). Any other type reads the first column. Fails when a required field has no column:
 * every row would be bad, so that is the file's problem, not a row's; the error completes
 * "the csv header has …".
 */
export function csvRowReader(header: readonly string[], type: FlowType): CsvRowReader | { error: string } {
  const names = header.map((h) => h.trim());
  if (type.kind !== "record") {
    return { read: (cells) => result(convertText(cells[0] ?? "", type)) };
  }
  const columns: { field: RecordField; index: number }[] = [];
  const missing: string[] = [];
  for (const field of type.fields) {
    const index = names.indexOf(field.name);
    if (index < 0 && !field.optional) missing.push(field.name);
    columns.push({ field, index });
  }
  if (missing.length > 0) {
    const list = missing.map((m) => `\`${m}\``).join(", ");
    return { error: `no column${missing.length > 1 ? "s" : ""} ${list} (its columns: ${names.join(", ")})` };
  }
  return {
    read(cells) {
      if (cells.length !== names.length) {
        return { ok: false, message: `expected ${names.length} cells as in the header, found ${cells.length}` };
      }
      const out: Record<string, unknown> = {};
      for (const { field, index } of columns) {
        const cell = index < 0 ? "" : cells[index]!;
        let v: unknown;
        if (cell === "" && field.optional) v = undefined;
        else v = convertText(cell, field.type);
        if (v instanceof Mismatch) {
          v.path.unshift(`.${field.name}`);
          return { ok: false, message: v.message() };
        }
        out[field.name] = v;
      }
      return { ok: true, value: out };
    },
  };
}

/** One csv row as a value of `type`; for many rows of one file, build a csvRowReader once. */
export function fromCsvRow(cells: readonly string[], header: readonly string[], type: FlowType): Converted {
  const reader = csvRowReader(header, type);
  return "error" in reader ? { ok: false, message: `the csv header has ${reader.error}` } : reader.read(cells);
}

// ------------------------------------------------------------------------------- to text

/** Column names of a csv sink: a record's fields, or `value` for any other type. */
export function csvHeader(type: FlowType): string[] {
  return type.kind === "record" ? type.fields.map((f) => f.name) : ["value"];
}

/** The cells of one csv row (unquoted): scalars as text, arrays and records as JSON, missing as empty. */
export function toCsvRow(value: unknown, type: FlowType): string[] {
  if (type.kind !== "record") return [toCell(value)];
  const rec = value as Record<string, unknown>;
  return type.fields.map((f) => toCell(rec[f.name]));
}

function toCell(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/** A value as one line of a `lines` sink: strings as they are, anything else as JSON. */
export function toLine(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

// ------------------------------------------------------------------------------- time

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;

/**
 * An ISO-8601 date or date-time as milliseconds since the epoch, or undefined. Written by hand
 * rather than with Date.parse, which accepts almost anything ("1", "May 3") and reads a date-time
 * without an offset in the machine's time zone; here that is UTC, so results do not depend on
 * where the job runs.
 */
export function parseTimestamp(s: string): number | undefined {
  const m = ISO.exec(s);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [hour, minute, second] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const ms = m[7] ? Number(m[7].slice(0, 3).padEnd(3, "0")) : 0;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[4] === undefined && (m[8] || m[9])) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  if (d.getUTCDate() !== day) return undefined; // 2024-02-30 rolled over into March
  d.setUTCHours(hour, minute, second, ms);
  const offsetMinutes = m[9] ? (m[9] === "-" ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) : 0;
  return d.getTime() - offsetMinutes * 60_000;
}

const DURATION = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Integer milliseconds ("1500") or one duration literal ("10s"). */
export function parseDuration(s: string): number | undefined {
  const m = DURATION.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[(m[2] ?? "ms") as keyof typeof UNIT_MS];
}
