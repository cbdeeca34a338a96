// The benchmark's workloads, each written once per contender: the .flow program (compiled and run
// on the runtime), a hand-written fused loop (the baseline), RxJS 7, Node object-mode streams with
// stream.pipeline(), and highland. Every implementation writes its result rows as JSON lines to a
// file, as the plan's file sink does (the same work: a job's results have to go somewhere), and
// the checksum is taken from that file afterwards; checksums are linear in the aggregates
// (Σ key-weight × value), so a window that the runtime's processing-time clock happens to split in
// two still gives the same checksum.
import { closeSync, createReadStream, openSync, writeSync } from "node:fs";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import _ from "highland";
import { Observable, filter, lastValueFrom, map, mergeMap, range, reduce } from "rxjs";

export type WorkloadId = "W1" | "W2" | "W3";
export type LibraryContender = "hand" | "rxjs" | "streams" | "highland";

export interface WorkloadInput {
  /** W1, W3: number of records. */
  count: number;
  /** W2: the corpus file. */
  corpus: string;
  /** The file the contender writes its result rows to (JSON lines, the plan's row shape). */
  out: string;
}

/**
 * Result rows as JSON lines into a file, in writes of about 64 KB: by hand, what the plan's file
 * sink does with its results. Each contender formats its rows itself, with a template per shape.
 */
export class RowFile {
  private readonly fd: number;
  private text = "";

  constructor(path: string) {
    this.fd = openSync(path, "w");
  }

  line(json: string): void {
    this.text += `${json}\n`;
    if (this.text.length >= 65536) this.flush();
  }

  private flush(): void {
    writeSync(this.fd, this.text);
    this.text = "";
  }

  close(): void {
    if (this.text !== "") this.flush();
    closeSync(this.fd);
  }
}

/** W1's one result row. */
function writeSum(out: string, sum: number): void {
  const rows = new RowFile(out);
  rows.line(`{"key":0,"sum":${sum}}`);
  rows.close();
}

// ------------------------------------------------------------------------------------------- W1
// 10M integers → map(x * 3) → filter(even) → sum.

export function w1Flow(count: number, out: string): string {
  return `pipeline w1
source nums: int = generate(count: ${count})

nums
  |> map(x => x * 3)
  |> filter(x => x % 2 == 0)
  |> keyBy(x => 0)
  |> window(tumbling(1d))
  |> sum(x => x)
  |> sink file(${JSON.stringify(out)}, format: "jsonl")
`;
}

const w1: Record<LibraryContender, (input: WorkloadInput) => Promise<void>> = {
  async hand({ count, out }) {
    let sum = 0;
    for (let x = 0; x < count; x++) {
      const y = x * 3;
      if (y % 2 === 0) sum += y;
    }
    writeSum(out, sum);
  },
  async rxjs({ count, out }) {
    const sum = await lastValueFrom(
      range(0, count).pipe(
        map((x) => x * 3),
        filter((x) => x % 2 === 0),
        reduce((a, x) => a + x, 0),
      ),
    );
    writeSum(out, sum);
  },
  async streams({ count, out }) {
    let sum = 0;
    await pipeline(
      Readable.from(integers(count)),
      mapStream((x: number) => x * 3),
      filterStream((x: number) => x % 2 === 0),
      sinkStream((x: number) => void (sum += x)),
    );
    writeSum(out, sum);
  },
  async highland({ count, out }) {
    const sum = await _(integers(count))
      .map((x) => x * 3)
      .filter((x) => x % 2 === 0)
      .reduce(0, (a, x) => a + x)
      .toPromise(Promise);
    writeSum(out, sum);
  },
};

function* integers(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

// ------------------------------------------------------------------------------------------- W2
// Word count over the corpus: lower case, split at anything but letters and apostrophes.

export function w2Flow(corpus: string, out: string): string {
  return `pipeline w2
source lines: string = file(${JSON.stringify(corpus)}, format: "lines")

lines
  |> flatMap(line => split(lower(line), "[^a-z']+"))
  |> filter(w => w != "")
  |> keyBy(w => w)
  |> window(tumbling(1d))
  |> count()
  |> sink file(${JSON.stringify(out)}, format: "jsonl")
`;
}

const WORD_SEPARATOR = /[^a-z']+/;

/** FNV-1a of a string: a word's weight in the W2 checksum. */
export function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Σ fnv(word) × count (mod 2^32) and the number of words: independent of order and of splits. */
export function wordChecksum(counts: Iterable<[string, number]>): string {
  let h = 0;
  let total = 0;
  for (const [w, n] of counts) {
    h = (h + Math.imul(fnv(w), n)) >>> 0;
    total += n;
  }
  return `${total} words, ${h.toString(16)}`;
}

/** W2's result rows, one per word. */
function writeCounts(out: string, counts: Map<string, number>): void {
  const rows = new RowFile(out);
  for (const [w, n] of counts) rows.line(`{"key":${JSON.stringify(w)},"count":${n}}`);
  rows.close();
}

function countWord(counts: Map<string, number>, w: string): Map<string, number> {
  counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

/** Calls `line` for every line of the file, read as a stream of chunks. */
function eachLine(path: string, line: (text: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let rest = "";
    createReadStream(path, { encoding: "utf8" })
      .on("data", (chunk) => {
        const text = rest + (chunk as string);
        let start = 0;
        for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
          line(text.slice(start, nl));
          start = nl + 1;
        }
        rest = text.slice(start);
      })
      .on("end", () => {
        if (rest !== "") line(rest);
        resolve();
      })
      .on("error", reject);
  });
}

const w2: Record<LibraryContender, (input: WorkloadInput) => Promise<void>> = {
  async hand({ corpus, out }) {
    const counts = new Map<string, number>();
    await eachLine(corpus, (line) => {
      const words = line.toLowerCase().split(WORD_SEPARATOR);
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        if (w !== "") counts.set(w, (counts.get(w) ?? 0) + 1);
      }
    });
    writeCounts(out, counts);
  },
  async rxjs({ corpus, out }) {
    const lines = new Observable<string>((sub) => {
      eachLine(corpus, (line) => sub.next(line)).then(
        () => sub.complete(),
        (e) => sub.error(e),
      );
    });
    const counts = await lastValueFrom(
      lines.pipe(
        mergeMap((line) => line.toLowerCase().split(WORD_SEPARATOR)),
        filter((w) => w !== ""),
        reduce(countWord, new Map<string, number>()),
      ),
    );
    writeCounts(out, counts);
  },
  async streams({ corpus, out }) {
    const counts = new Map<string, number>();
    await pipeline(
      createReadStream(corpus, { encoding: "utf8" }),
      lineSplitter(),
      new Transform({
        objectMode: true,
        transform(line: string, _enc, done) {
          for (const w of line.toLowerCase().split(WORD_SEPARATOR)) this.push(w);
          done();
        },
      }),
      filterStream((w: string) => w !== ""),
      sinkStream((w: string) => void countWord(counts, w)),
    );
    writeCounts(out, counts);
  },
  async highland({ corpus, out }) {
    const counts = await _<string>(createReadStream(corpus, { encoding: "utf8" }) as unknown as NodeJS.ReadableStream)
      .split()
      .map((line) => line.toLowerCase().split(WORD_SEPARATOR))
      .sequence()
      .filter((w) => w !== "")
      .reduce(new Map<string, number>(), countWord)
      .toPromise(Promise);
    writeCounts(out, counts);
  },
};

function lineSplitter(): Transform {
  let rest = "";
  return new Transform({
    readableObjectMode: true,
    decodeStrings: false,
    transform(chunk: string, _enc, done) {
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const l of lines) this.push(l);
      done();
    },
    flush(done) {
      if (rest !== "") this.push(rest);
      done();
    },
  });
}

// ------------------------------------------------------------------------------------------- W3
// Events { key among 10k, value, ts }: 100 events per millisecond of event time (so a 1 s window
// holds 100k events, ten per key), summed per key in 1 s tumbling event-time windows.

export const W3_KEYS = 10_000;
const W3_FIRST_TS = 1_700_000_000_000;
const W3_WINDOW_MS = 1000;

export interface Event {
  key: number;
  value: number;
  ts: number;
}

export function event(n: number): Event {
  return { key: (n * 7919) % W3_KEYS, value: n % 100, ts: W3_FIRST_TS + Math.floor(n / 100) };
}

/**
 * The intended program, in event time (W5 also runs it with 1M keys in a window of a day). A generated record's timestamp advances one second per
 * record, so the event time is rebuilt from it: t - 1000·n ms is the first timestamp.
 */
export function w3EventTimeFlow(count: number, out: string, partitions = 1, keys = W3_KEYS, window = "1s"): string {
  return w3Text(count, out, partitions, keys, window, 0, "w3");
}

/**
 * A share of W3's events as a program of its own: events first … first + count - 1 (W4's ceiling
 * runs two of them side by side). Its rows, with the other shares', make W3's checksum: a window
 * split between two shares gives two rows whose sums add up to its one.
 */
export function w3ShareFlow(name: string, first: number, count: number, out: string): string {
  return w3Text(count, out, 1, W3_KEYS, "1s", first, name);
}

function w3Text(count: number, out: string, partitions: number, keys: number, window: string, first: number, name: string): string {
  const n = first === 0 ? "r.n" : `(r.n + ${first})`;
  return `pipeline ${name}
config { partitions: ${partitions} }
source raw: { n: int, t: timestamp } = generate(count: ${count})

raw
  |> map(r => { key: (${n} * 7919) % ${keys}, value: ${n} % 100, ts: r.t + 1ms * (floor(${n} / 100) - r.n * 1000) })
  |> watermark(e => e.ts, delay: 0ms)
  |> keyBy(e => e.key)
  |> window(tumbling(${window}))
  |> sum(e => e.value)
  |> sink file(${JSON.stringify(out)}, format: "jsonl")
`;
}

/** The same program with a processing-time window: what the runtime runs while event time is missing. */
export function w3ProcessingTimeFlow(count: number, out: string, partitions = 1): string {
  return `pipeline w3
config { partitions: ${partitions} }
source raw: int = generate(count: ${count})

raw
  |> map(n => { key: (n * 7919) % ${W3_KEYS}, value: n % 100, ts: ${W3_FIRST_TS} + floor(n / 100) })
  |> keyBy(e => e.key)
  |> window(tumbling(1s))
  |> sum(e => e.value)
  |> sink file(${JSON.stringify(out)}, format: "jsonl")
`;
}

/** Σ (key + 1) × sum over the windows' results: exact (below 2^53) for the sizes used here. */
export class KeyedChecksum {
  value = 0;
  rows = 0;
  add(key: number, sum: number): void {
    this.value += (key + 1) * sum;
    this.rows++;
  }
}

/** Per-key tumbling event-time sums; input in timestamp order (the watermark is the latest ts). */
class TumblingSum {
  private readonly windows = new Map<number, Map<number, number>>();
  constructor(private readonly emit: (key: number, sum: number, start: number) => void) {}

  add(e: Event): void {
    const start = e.ts - (e.ts % W3_WINDOW_MS);
    let w = this.windows.get(start);
    if (!w) {
      this.closeBefore(e.ts);
      this.windows.set(start, (w = new Map()));
    }
    w.set(e.key, (w.get(e.key) ?? 0) + e.value);
  }

  /** Emits every window that ends at or before `watermark`. */
  closeBefore(watermark: number): void {
    for (const [start, w] of this.windows) {
      if (start + W3_WINDOW_MS > watermark) continue;
      for (const [key, sum] of w) this.emit(key, sum, start);
      this.windows.delete(start);
    }
  }

  flush(): void {
    this.closeBefore(Infinity);
  }
}

/** One W3 result row: a key's sum in the window starting at `start`. */
function w3Row(key: number, sum: number, start: number): string {
  // A window's rows share their end, made once: timestamps are beyond 2^31, and turning such a
  // number into text is most of a row's time (the plan's sink has its own shortcut for that).
  if (start !== rowWindow.start) rowWindow = { start, tail: `,"start":${start},"end":${start + W3_WINDOW_MS}}` };
  return `{"key":${key},"sum":${sum}${rowWindow.tail}`;
}
let rowWindow = { start: NaN, tail: "" };

type W3Result = [key: number, sum: number, start: number];

const w3: Record<LibraryContender, (input: WorkloadInput) => Promise<void>> = {
  async hand({ count, out }) {
    // The window logic inlined: one map per open window, closed when the event time passes its end.
    const rows = new RowFile(out);
    const windows = new Map<number, Map<number, number>>();
    const close = (watermark: number) => {
      for (const [start, w] of windows) {
        if (start + W3_WINDOW_MS > watermark) continue;
        for (const [key, sum] of w) rows.line(w3Row(key, sum, start));
        windows.delete(start);
      }
    };
    for (let n = 0; n < count; n++) {
      const e = event(n);
      const start = e.ts - (e.ts % W3_WINDOW_MS);
      let w = windows.get(start);
      if (!w) {
        close(e.ts);
        windows.set(start, (w = new Map()));
      }
      w.set(e.key, (w.get(e.key) ?? 0) + e.value);
    }
    close(Infinity);
    rows.close();
  },
  async rxjs({ count, out }) {
    const windowed = (source: Observable<Event>) =>
      new Observable<W3Result>((sub) => {
        const w = new TumblingSum((key, sum, start) => sub.next([key, sum, start]));
        return source.subscribe({
          next: (e) => w.add(e),
          error: (e) => sub.error(e),
          complete: () => {
            w.flush();
            sub.complete();
          },
        });
      });
    const rows = await lastValueFrom(
      range(0, count).pipe(
        map(event),
        windowed,
        reduce((f, [key, sum, start]) => (f.line(w3Row(key, sum, start)), f), new RowFile(out)),
      ),
    );
    rows.close();
  },
  async streams({ count, out }) {
    const rows = new RowFile(out);
    let w: TumblingSum;
    await pipeline(
      Readable.from(integers(count)),
      mapStream(event),
      new Transform({
        objectMode: true,
        construct(done) {
          w = new TumblingSum((key, sum, start) => this.push([key, sum, start]));
          done();
        },
        transform(e: Event, _enc, done) {
          w.add(e);
          done();
        },
        flush(done) {
          w.flush();
          done();
        },
      }),
      sinkStream(([key, sum, start]: W3Result) => rows.line(w3Row(key, sum, start))),
    );
    rows.close();
  },
  async highland({ count, out }) {
    const rows = await _(integers(count))
      .map(event)
      .consume<W3Result>((() => {
        let w: TumblingSum | undefined;
        return (err, e, push, next) => {
          if (err) {
            push(err);
            next();
          } else if (_.isNil(e)) {
            w?.flush();
            push(null, e);
          } else {
            w ??= new TumblingSum((key, sum, start) => push(null, [key, sum, start]));
            w.add(e);
            next();
          }
        };
      })())
      .reduce(new RowFile(out), (f, [key, sum, start]) => (f.line(w3Row(key, sum, start)), f))
      .toPromise(Promise);
    rows.close();
  },
};

// --------------------------------------------------------------------------- stream building blocks

function mapStream<I, O>(f: (x: I) => O): Transform {
  return new Transform({
    objectMode: true,
    transform(x: I, _enc, done) {
      done(null, f(x));
    },
  });
}

function filterStream<T>(keep: (x: T) => boolean): Transform {
  return new Transform({
    objectMode: true,
    transform(x: T, _enc, done) {
      if (keep(x)) done(null, x);
      else done();
    },
  });
}

function sinkStream<T>(take: (x: T) => void): Writable {
  return new Writable({
    objectMode: true,
    write(x: T, _enc, done) {
      take(x);
      done();
    },
  });
}

export const LIBRARY_RUNS: Record<WorkloadId, Record<LibraryContender, (input: WorkloadInput) => Promise<void>>> = { W1: w1, W2: w2, W3: w3 };

/** The checksum of the result rows a contender wrote (a plan's jsonl sink output, or a RowFile). */
export function planChecksum(workload: WorkloadId, rows: Record<string, unknown>[]): string {
  if (workload === "W2") return wordChecksum(rows.map((r) => [r.key as string, r.count as number]));
  const check = new KeyedChecksum();
  for (const r of rows) check.add(r.key as number, r.sum as number);
  return String(check.value);
}
