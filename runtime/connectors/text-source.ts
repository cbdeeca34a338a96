// The reader behind every text source (file, stdin, socket): pulls chunks from a Readable, splits
// them into lines, parses each line in its format (lines, csv, jsonl) into the declared element
// type and hands out batches. A line that does not parse is reported as a bad record and skipped;
// only a failing stream rejects.
//
// Backpressure comes from the stream itself: a chunk is read only when the runtime asks for the next
// batch, so an unread Readable fills up to its high-water mark and stops (a file stops reading, a
// TCP socket stops reading from the kernel and the peer's sends block).
import type { Readable } from "node:stream";
import type { SourceLoc } from "../plan.js";
import type { FlowType } from "../types.js";
import type { SourceContext, SourceReader } from "./api.js";
import { ConnectorError } from "./api.js";
import type { TextFormat } from "./args.js";
import { parseCsvLine } from "./csv.js";
import { type Line, LineSplitter } from "./lines.js";
import { type Converted, type CsvRowReader, csvRowReader, fromJson, fromText, shorten } from "./validate.js";

export interface TextSourceOptions {
  format: TextFormat;
  /** Where the lines come from, as bad-record reports and messages show it: the path as written, `stdin`, `socket host:port`. */
  origin: string;
  /**
   * Hand out a batch as soon as a chunk has produced records, instead of waiting to fill it: for
   * input that arrives as people type or send it (stdin, socket). Files fill whole batches.
   */
  eager: boolean;
  /** Total size in bytes, when known: enables progress(). */
  totalBytes?: number;
  /** Leave the stream open on close (process.stdin belongs to the process, not to the source). */
  keepOpen?: boolean;
  /** The message for a stream that fails while being read. */
  readError(error: unknown): ConnectorError;
  /** The stream starts at this position of the input (a checkpoint's; the stream was opened there). */
  resume?: TextPosition;
}

/** A line-based source's checkpointed position: after line `line`, at byte `offset`; csv keeps its header. */
export interface TextPosition {
  [k: string]: unknown;
  offset: number;
  line: number;
  header?: string;
}

/** Parses one line; `undefined` means the line carries no record (a blank jsonl line, a csv header). */
type LineParser = (line: Line) => Converted | undefined;

export function openTextSource(stream: Readable, ctx: SourceContext, opts: TextSourceOptions): SourceReader {
  return new TextSourceReader(stream, ctx, opts);
}

class TextSourceReader implements SourceReader {
  private readonly chunks: AsyncIterator<Buffer | string>;
  private readonly splitter: LineSplitter;
  private readonly parse: LineParser;
  /** After the last line handed out (parsed into a batch, or reported as bad). */
  private pos: TextPosition;
  /** Lines split from the chunks read so far and not yet parsed. */
  private lines: Line[] = [];
  private lineIndex = 0;
  private bytes = 0;
  private ended = false;
  private stopped = false;
  /**
   * Ends the read in progress on stop(), which the stream itself could leave waiting (stdin is
   * never destroyed). One per read: a race against one long-lived promise would add a reaction to
   * it per chunk, each holding that chunk for as long as the source lives.
   */
  private wake: () => void = () => {};
  private readonly onAbort = () => this.stop();
  progress?: () => { done: number; total: number; unit: "bytes" };

  constructor(
    private readonly stream: Readable,
    private readonly ctx: SourceContext,
    private readonly opts: TextSourceOptions,
  ) {
    this.chunks = stream.iterator({ destroyOnReturn: !opts.keepOpen });
    this.pos = { offset: opts.resume?.offset ?? 0, line: opts.resume?.line ?? 0 };
    this.splitter = new LineSplitter(opts.resume);
    this.bytes = this.pos.offset;
    this.parse = lineParser(opts.format, ctx.elementType, opts.origin, ctx.loc, (header) => (this.pos.header = header));
    if (opts.resume?.header !== undefined) this.parse({ number: 0, text: opts.resume.header, end: 0 });
    const total = opts.totalBytes;
    if (total !== undefined) this.progress = () => ({ done: this.bytes, total, unit: "bytes" });
    // Cancelling ends the input: a source waiting on a quiet socket must not keep the job alive.
    if (ctx.signal.aborted) this.stop();
    else ctx.signal.addEventListener("abort", this.onAbort, { once: true });
  }

  async next(): Promise<unknown[] | undefined> {
    const { batchSize } = this.ctx;
    const batch: unknown[] = [];
    for (;;) {
      if (this.stopped) return undefined;
      while (this.lineIndex < this.lines.length && batch.length < batchSize) {
        const line = this.lines[this.lineIndex++]!;
        this.pos.offset = line.end;
        this.pos.line = line.number;
        const r = this.parse(line);
        if (r === undefined) continue;
        if (r.ok) batch.push(r.value);
        else this.ctx.reportBad({ source: this.ctx.name, origin: this.opts.origin, line: line.number, message: r.message, text: shorten(line.text, 200) });
      }
      if (batch.length >= batchSize) return batch;
      this.lines = [];
      this.lineIndex = 0;
      if (batch.length > 0 && (this.opts.eager || this.ended)) return batch;
      if (this.ended) return undefined;
      this.waiting = batch.length === 0;
      try {
        await this.readChunk();
      } finally {
        this.waiting = false;
      }
    }
  }

  private async readChunk(): Promise<void> {
    let r: IteratorResult<Buffer | string> | undefined;
    try {
      if (this.stopped) return;
      const next = this.chunks.next();
      r = await new Promise<IteratorResult<Buffer | string> | undefined>((resolve, reject) => {
        this.wake = () => resolve(undefined);
        next.then(resolve, reject);
      });
    } catch (e) {
      if (this.stopped) return;
      throw this.opts.readError(e);
    } finally {
      this.wake = () => {};
    }
    if (r === undefined) return;
    if (r.done) {
      this.splitter.end(this.lines);
      this.ended = true;
    } else {
      this.bytes += typeof r.value === "string" ? Buffer.byteLength(r.value) : r.value.length;
      this.splitter.push(r.value, this.lines);
    }
  }

  private waiting = false;

  idle(): boolean {
    return this.waiting;
  }

  position(): TextPosition {
    return { ...this.pos };
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.wake();
    this.ctx.signal.removeEventListener("abort", this.onAbort);
    if (this.opts.keepOpen) void this.chunks.return?.().catch(() => {});
    else this.stream.destroy();
  }

  async close(): Promise<void> {
    this.stop();
  }
}

function lineParser(format: TextFormat, type: FlowType, origin: string, loc: SourceLoc, onHeader: (text: string) => void): LineParser {
  switch (format) {
    case "lines":
      if (type.kind === "string") return (line) => ({ ok: true, value: line.text });
      return (line) => fromText(line.text, type);
    case "jsonl":
      return (line) => {
        if (line.text.trim() === "") return undefined;
        let value: unknown;
        try {
          value = JSON.parse(line.text);
        } catch (e) {
          return { ok: false, message: `invalid JSON: ${(e as Error).message}` };
        }
        return fromJson(value, type);
      };
    case "csv":
      return csvParser(type, origin, loc, onHeader);
  }
}

/** The first non-blank line is the header; blank lines are skipped, as csv files often end with one. */
function csvParser(type: FlowType, origin: string, loc: SourceLoc, onHeader: (text: string) => void): LineParser {
  let rows: CsvRowReader | undefined;
  return (line) => {
    if (line.text === "") return undefined;
    const cells = parseCsvLine(line.text);
    if (rows === undefined) {
      // A header that does not fit the type would make every row bad: that is the input's problem.
      if (!Array.isArray(cells)) throw new ConnectorError(`cannot read the csv header of ${origin} (line ${line.number}): ${cells.error}`, loc);
      const reader = csvRowReader(cells, type);
      if ("error" in reader) {
        throw new ConnectorError(`the csv header of ${origin} has ${reader.error}`, loc, "every required field of the source's type needs a column of the same name");
      }
      rows = reader;
      onHeader(line.text);
      return undefined;
    }
    if (!Array.isArray(cells)) return { ok: false, message: cells.error };
    return rows.read(cells);
  };
}
