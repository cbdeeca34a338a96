// Connectors against real files, sockets and streams: what comes out of each source for good and
// bad input (with the bad-record reports), what each sink writes, and the rules values follow.
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import { PassThrough, Readable, Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { type BadRecord, ConnectorError, type SinkContext, type SourceContext, type SourceReader } from "../runtime/connectors/api.js";
import { CONNECTORS } from "../runtime/connectors/catalog.js";
import { formatCsvLine, parseCsvLine } from "../runtime/connectors/csv.js";
import { FIRST_TIMESTAMP, VOCABULARY, generateValue } from "../runtime/connectors/generate.js";
import { type Line, LineSplitter } from "../runtime/connectors/lines.js";
import { SINKS, SOURCES } from "../runtime/connectors/registry.js";
import { openTextSource } from "../runtime/connectors/text-source.js";
import { fromCsvRow, fromJson, fromText, parseTimestamp } from "../runtime/connectors/validate.js";
import type { ConnectorSpec, ConstValue, SourceLoc } from "../runtime/plan.js";
import { type FlowType, T } from "../runtime/types.js";

const loc: SourceLoc = { file: "test.flow", line: 3, column: 1, endLine: 3, endColumn: 20 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "flow-connectors-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const field = (name: string, type: FlowType, optional = false) => ({ name, type, optional });
const Click = T.record([field("user", T.string), field("url", T.string), field("ts", T.timestamp)], "Click");

function spec(type: string, args: Record<string, ConstValue>): ConnectorSpec {
  return { type, args };
}

function sourceCtx(elementType: FlowType, over: Partial<SourceContext> = {}) {
  const bad: BadRecord[] = [];
  const ctx: SourceContext = {
    name: "input",
    elementType,
    baseDir: tmp,
    batchSize: 100,
    reportBad: (b) => bad.push(b),
    loc,
    stdin: Readable.from([]),
    signal: new AbortController().signal,
    ...over,
  };
  return { ctx, bad };
}

async function drain(reader: SourceReader, maxBatch = Infinity): Promise<{ records: unknown[]; batches: number }> {
  const records: unknown[] = [];
  let batches = 0;
  for (let b = await reader.next(); b !== undefined; b = await reader.next()) {
    expect(b.length).toBeGreaterThan(0);
    expect(b.length).toBeLessThanOrEqual(maxBatch);
    records.push(...b);
    batches++;
  }
  await reader.close();
  return { records, batches };
}

async function readFile(rel: string, format: string, type: FlowType, over: Partial<SourceContext> = {}) {
  const { ctx, bad } = sourceCtx(type, over);
  const reader = await SOURCES.file!.open(spec("file", { path: rel, format }), ctx);
  const { records } = await drain(reader, ctx.batchSize);
  return { records, bad, reader };
}

function write(rel: string, text: string | Buffer): void {
  const p = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
}

function sinkCtx(elementType: FlowType, over: Partial<SinkContext> = {}): SinkContext {
  return { name: "out", elementType, baseDir: tmp, partition: 0, partitions: 1, loc, stdout: new PassThrough(), ...over };
}

async function rejection(p: Promise<unknown>): Promise<ConnectorError> {
  const e = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(ConnectorError);
  return e as ConnectorError;
}

// ------------------------------------------------------------------------------- values

describe("converting JSON values to declared types", () => {
  it("keeps declared fields in order, drops unknown ones and stores missing optionals as undefined", () => {
    const t = T.record([field("a", T.int), field("b", T.string, true), field("c", T.float, true)]);
    const r = fromJson({ c: 2, extra: true, a: 1, b: null }, t);
    expect(r).toEqual({ ok: true, value: { a: 1, b: undefined, c: 2 } });
    if (r.ok) expect(Object.keys(r.value as object)).toEqual(["a", "b", "c"]);
  });

  it("names the path of a wrong value inside arrays and nested records", () => {
    const Item = T.record([field("price", T.float)]);
    const t = T.record([field("order", T.record([field("items", T.array(Item))]))]);
    const r = fromJson({ order: { items: [{ price: 1 }, { price: 2.5 }, { price: "3" }] } }, t);
    expect(r).toEqual({ ok: false, message: 'field `order.items[2].price`: expected float, found "3"' });
  });

  it("reports missing required fields, null ones and wrong scalars", () => {
    expect(fromJson({ url: "/", ts: 1 }, Click)).toEqual({ ok: false, message: "missing field `user`" });
    expect(fromJson({ user: null, url: "/", ts: 1 }, Click)).toEqual({ ok: false, message: "field `user`: expected string, found null" });
    expect(fromJson({ user: "u", url: "/", ts: "abc" }, Click)).toEqual({ ok: false, message: 'field `ts`: expected timestamp, found "abc"' });
    expect(fromJson(3.5, T.int)).toEqual({ ok: false, message: "expected int, found 3.5" });
    expect(fromJson([1], Click)).toEqual({ ok: false, message: "expected Click, found an array" });
    expect(fromJson(3, T.float)).toEqual({ ok: true, value: 3 });
  });

  it("reads timestamps as epoch milliseconds or ISO-8601 strings (UTC when no offset is given)", () => {
    expect(fromJson("2024-03-01T10:00:00Z", T.timestamp)).toEqual({ ok: true, value: Date.UTC(2024, 2, 1, 10) });
    expect(parseTimestamp("2024-03-01T10:00:00.25+02:00")).toBe(Date.UTC(2024, 2, 1, 8, 0, 0, 250));
    expect(parseTimestamp("2024-03-01 10:00")).toBe(Date.UTC(2024, 2, 1, 10));
    expect(parseTimestamp("2024-03-01")).toBe(Date.UTC(2024, 2, 1));
    expect(parseTimestamp("2024-02-30")).toBeUndefined();
    expect(parseTimestamp("1")).toBeUndefined();
    expect(fromJson(1.5, T.timestamp).ok).toBe(false);
  });

  it("reads durations as milliseconds or a duration literal", () => {
    expect(fromJson(1500, T.duration)).toEqual({ ok: true, value: 1500 });
    expect(fromJson("10s", T.duration)).toEqual({ ok: true, value: 10_000 });
    expect(fromText("5m", T.duration)).toEqual({ ok: true, value: 300_000 });
    expect(fromText("soon", T.duration).ok).toBe(false);
  });

  it("reads text cells: strict ints, floats, booleans, and JSON for arrays and records", () => {
    expect(fromText("-12", T.int)).toEqual({ ok: true, value: -12 });
    expect(fromText("1.0", T.int)).toEqual({ ok: false, message: 'expected int, found "1.0"' });
    expect(fromText("1e3", T.float)).toEqual({ ok: true, value: 1000 });
    expect(fromText("0x10", T.float).ok).toBe(false);
    expect(fromText("", T.float).ok).toBe(false);
    expect(fromText("TRUE", T.bool)).toEqual({ ok: true, value: true });
    expect(fromText("[1,2]", T.array(T.int))).toEqual({ ok: true, value: [1, 2] });
    expect(fromText("[1,", T.array(T.int)).ok).toBe(false);
  });
});

describe("csv rows", () => {
  it("splits quoted cells with commas and doubled quotes", () => {
    expect(parseCsvLine('a,"b, c","say ""hi""",')).toEqual(["a", "b, c", 'say "hi"', ""]);
    expect(parseCsvLine('"open,1')).toEqual({ error: expect.stringContaining("not closed") });
    const cells = ["plain", "with, comma", 'with "quote"', " edge", ""];
    expect(parseCsvLine(formatCsvLine(cells))).toEqual(cells);
  });

  it("maps header names to fields; an empty cell of an optional field is missing", () => {
    const t = T.record([field("n", T.int), field("name", T.string), field("note", T.string, true)]);
    expect(fromCsvRow(["x", "7", "", ""], ["extra", "n", " name ", "note"], t)).toEqual({ ok: true, value: { n: 7, name: "", note: undefined } });
    expect(fromCsvRow(["x", "seven", "a", ""], ["extra", "n", "name", "note"], t)).toEqual({ ok: false, message: 'field `n`: expected int, found "seven"' });
    expect(fromCsvRow(["7"], ["n", "name"], t)).toEqual({ ok: false, message: "expected 2 cells as in the header, found 1" });
    expect(fromCsvRow(["7"], ["n"], t)).toEqual({ ok: false, message: "the csv header has no column `name` (its columns: n)" });
    expect(fromCsvRow(["7", "x"], ["count", "other"], T.int)).toEqual({ ok: true, value: 7 });
  });
});

// ------------------------------------------------------------------------------- lines

describe("splitting lines", () => {
  it("joins lines and characters split across chunks, byte by byte", () => {
    const text = "\uFEFFhéllo wörld\r\n€ and 😀\n\nlast without newline";
    const bytes = Buffer.from(text);
    const splitter = new LineSplitter();
    const lines: Line[] = [];
    for (let i = 0; i < bytes.length; i++) splitter.push(bytes.subarray(i, i + 1), lines);
    splitter.end(lines);
    expect(lines).toEqual([
      { number: 1, text: "héllo wörld", end: 18 },
      { number: 2, text: "€ and 😀", end: 31 },
      { number: 3, text: "", end: 32 },
      { number: 4, text: "last without newline", end: bytes.length },
    ]);
    // Resuming after line 2 at its byte offset numbers the rest as a whole read did.
    const rest = new LineSplitter({ offset: 31, line: 2 });
    const more: Line[] = [];
    rest.push(bytes.subarray(31), more);
    rest.end(more);
    expect(more).toEqual(lines.slice(2));
  });

  it("gives a source whole records when a stream delivers tiny chunks", async () => {
    const text = '{"w":"ä"}\r\n{"w":"😀x"}\n{"w":"€"}';
    const bytes = Buffer.from(text);
    const chunks = [...Array(bytes.length).keys()].map((i) => bytes.subarray(i, i + 1));
    const { ctx, bad } = sourceCtx(T.record([field("w", T.string)]));
    const reader = openTextSource(Readable.from(chunks), ctx, { format: "jsonl", origin: "test", eager: false, readError: (e) => new ConnectorError(String(e)) });
    expect((await drain(reader)).records).toEqual([{ w: "ä" }, { w: "😀x" }, { w: "€" }]);
    expect(bad).toEqual([]);
  });
  it("does not hold on to the chunks it has read (a long-lived source would grow without bound)", async () => {
    // Each chunk is one line; WeakRefs tell whether a chunk is still reachable after a full GC.
    const refs: WeakRef<Buffer>[] = [];
    async function* chunks() {
      for (let i = 0; i < 50; i++) {
        const b = Buffer.from(`line ${i}\n`);
        refs.push(new WeakRef(b));
        yield b;
      }
    }
    const { ctx } = sourceCtx(T.string, { batchSize: 1 });
    const reader = openTextSource(Readable.from(chunks(), { objectMode: true, highWaterMark: 1 }), ctx, { format: "lines", origin: "test", eager: true, readError: (e) => new ConnectorError(String(e)) });
    let read = 0;
    while (read < 40) read += (await reader.next())?.length ?? 0;
    await new Promise((resolve) => setImmediate(resolve));
    v8.setFlagsFromString("--expose-gc");
    (vm.runInNewContext("gc") as () => void)();
    await new Promise((resolve) => setImmediate(resolve));
    (vm.runInNewContext("gc") as () => void)();
    const alive = refs.slice(0, 30).filter((r) => r.deref() !== undefined).length;
    await reader.close();
    expect(alive).toBe(0);
  });
});

// ------------------------------------------------------------------------------- file source

describe("file source", () => {
  it("reads jsonl: good records out, bad ones reported with their line and skipped", async () => {
    write(
      "data/clicks.jsonl",
      [
        '{"user":"ann","url":"/a","ts":1000,"extra":1}',
        "{not json",
        '{"url":"/b","ts":2000}',
        '{"user":"bob","url":"/c","ts":"yesterday"}',
        "",
        '{"user":"cy","url":"/d","ts":"2024-01-01T00:00:01Z"}',
      ].join("\n"),
    );
    const { records, bad, reader } = await readFile("data/clicks.jsonl", "jsonl", Click);
    expect(records).toEqual([
      { user: "ann", url: "/a", ts: 1000 },
      { user: "cy", url: "/d", ts: Date.UTC(2024, 0, 1, 0, 0, 1) },
    ]);
    expect(bad.map((b) => [b.line, b.message])).toEqual([
      [2, expect.stringMatching(/^invalid JSON: /)],
      [3, "missing field `user`"],
      [4, 'field `ts`: expected timestamp, found "yesterday"'],
    ]);
    expect(bad[0]).toMatchObject({ source: "input", origin: "data/clicks.jsonl", text: "{not json" });
    const size = fs.statSync(path.join(tmp, "data/clicks.jsonl")).size;
    expect(reader.progress?.()).toEqual({ done: size, total: size, unit: "bytes" });
  });

  it("reads csv with a header, quoted cells and commas inside quotes", async () => {
    write("data/people.csv", 'name,age,city\r\n"Smith, Ann",42,"New ""York"""\r\nBob,old,Paris\r\n"Cy,7,Rome\r\nDee,7,\r\n');
    const Person = T.record([field("name", T.string), field("age", T.int), field("city", T.string, true)]);
    const { records, bad } = await readFile("data/people.csv", "csv", Person);
    expect(records).toEqual([
      { name: "Smith, Ann", age: 42, city: 'New "York"' },
      { name: "Dee", age: 7, city: undefined },
    ]);
    expect(bad.map((b) => [b.line, b.message])).toEqual([
      [3, 'field `age`: expected int, found "old"'],
      [4, expect.stringContaining("quoted cell is not closed")],
    ]);
  });

  it("rejects a csv file whose header lacks a required field", async () => {
    write("data/noheader.csv", "name,city\nAnn,Rome\n");
    const Person = T.record([field("name", T.string), field("age", T.int)]);
    const e = await rejection(readFile("data/noheader.csv", "csv", Person));
    expect(e.message).toBe("the csv header of data/noheader.csv has no column `age` (its columns: name, city)");
    expect(e.loc).toEqual(loc);
  });

  it("reads `lines` as strings, or converts each line like a csv cell for other types", async () => {
    write("data/nums.txt", "1\n2\nthree\n4");
    expect((await readFile("data/nums.txt", "lines", T.string)).records).toEqual(["1", "2", "three", "4"]);
    const { records, bad } = await readFile("data/nums.txt", "lines", T.int);
    expect(records).toEqual([1, 2, 4]);
    expect(bad).toMatchObject([{ line: 3, message: 'expected int, found "three"', text: "three" }]);
  });

  it("streams a large file in batches, across chunk boundaries and multibyte characters", async () => {
    const n = 120_000;
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(JSON.stringify({ i, w: "é€😀".repeat(i % 5) }));
    write("data/big.jsonl", lines.join("\n") + "\n");
    const t = T.record([field("i", T.int), field("w", T.string)]);
    const { records, bad } = await readFile("data/big.jsonl", "jsonl", t, { batchSize: 1000 });
    expect(bad).toEqual([]);
    expect(records.length).toBe(n);
    const wrong = records.findIndex((r, i) => JSON.stringify(r) !== lines[i]);
    expect(wrong).toBe(-1);
  });

  it("rejects a missing file with the path as written and as resolved", async () => {
    const e = await rejection(readFile("data/nope.jsonl", "jsonl", Click));
    expect(e.message).toBe(`cannot read file \`data/nope.jsonl\` (resolved to ${path.join(tmp, "data/nope.jsonl")}): no such file`);
    expect(e.loc).toEqual(loc);
    expect(e.hint).toMatch(/relative to|resolved against/);
  });

  it("ends early when the job is cancelled", async () => {
    write("data/many.txt", "x\n".repeat(10_000));
    const abort = new AbortController();
    const { ctx } = sourceCtx(T.string, { batchSize: 10, signal: abort.signal });
    const reader = await SOURCES.file!.open(spec("file", { path: "data/many.txt" }), ctx);
    expect(await reader.next()).toHaveLength(10);
    abort.abort();
    expect(await reader.next()).toBeUndefined();
    await reader.close();
  });
});

// ------------------------------------------------------------------------------- file sink

async function runSink(type: string, args: Record<string, ConstValue>, elementType: FlowType, parts: unknown[][], over: Partial<SinkContext> = {}) {
  const writers = await Promise.all(parts.map((_, i) => SINKS[type]!.open(spec(type, args), sinkCtx(elementType, { partition: i, partitions: parts.length, ...over }))));
  parts.forEach((records, i) => {
    writers[i]!.write(records.slice(0, 1));
    writers[i]!.write(records.slice(1));
  });
  await Promise.all(writers.map((w) => w.ready()));
  await Promise.all(writers.map((w) => w.close()));
}

describe("file sink", () => {
  const Row = T.record([field("word", T.string), field("n", T.int), field("tags", T.array(T.string)), field("note", T.string, true)]);
  const rows = [
    { word: "a, b", n: 1, tags: ["x"], note: 'said "hi"' },
    { word: "c", n: 2, tags: [], note: undefined },
    { word: "d", n: 3, tags: ["y", "z"], note: "" },
  ];

  it.each(["csv", "jsonl"])("writes one part file per partition that reads back as the same records (%s)", async (format) => {
    const out = `out/round-${format}`;
    await runSink("file", { path: out, format }, Row, [rows.slice(0, 2), rows.slice(2), []]);
    expect(fs.readdirSync(path.join(tmp, out)).sort()).toEqual([`part-0.${format}`, `part-1.${format}`, `part-2.${format}`]);
    const back: unknown[] = [];
    for (let i = 0; i < 3; i++) back.push(...(await readFile(`${out}/part-${i}.${format}`, format, Row)).records);
    // csv cannot tell an empty string from a missing optional field.
    expect(back).toEqual(format === "csv" ? [rows[0], rows[1], { ...rows[2], note: undefined }] : rows);
  });

  it("writes csv with a header row and jsonl without missing optional fields", async () => {
    await runSink("file", { path: "out/look", format: "csv" }, Row, [rows]);
    expect(fs.readFileSync(path.join(tmp, "out/look/part-0.csv"), "utf8")).toBe(
      'word,n,tags,note\n"a, b",1,"[""x""]","said ""hi"""\nc,2,[],\nd,3,"[""y"",""z""]",\n',
    );
    await runSink("file", { path: "out/look", format: "jsonl" }, Row, [rows.slice(1, 2)]);
    expect(fs.readFileSync(path.join(tmp, "out/look/part-0.jsonl"), "utf8")).toBe('{"word":"c","n":2,"tags":[]}\n');
  });

  it("writes `lines` as strings as they are and other values as JSON, in .txt files", async () => {
    await runSink("file", { path: "out/lines", format: "lines" }, T.string, [["hello", "wörld"]]);
    expect(fs.readFileSync(path.join(tmp, "out/lines/part-0.txt"), "utf8")).toBe("hello\nwörld\n");
    await runSink("file", { path: "out/lines" }, Row, [rows.slice(1, 2)]);
    expect(fs.readFileSync(path.join(tmp, "out/lines/part-0.txt"), "utf8")).toBe('{"word":"c","n":2,"tags":[]}\n');
  });

  it("removes part files of an earlier run that this run does not write", async () => {
    const dir = path.join(tmp, "out/stale");
    fs.mkdirSync(dir, { recursive: true });
    for (const f of ["part-0.jsonl", "part-1.jsonl", "part-2.jsonl", "part-3.jsonl", "part-1.csv", "notes.md"]) fs.writeFileSync(path.join(dir, f), "old\n");
    await runSink("file", { path: "out/stale", format: "jsonl" }, T.int, [[1], [2]]);
    expect(fs.readdirSync(dir).sort()).toEqual(["notes.md", "part-0.jsonl", "part-1.jsonl"]);
    expect(fs.readFileSync(path.join(dir, "part-1.jsonl"), "utf8")).toBe("2\n");
  });

  it("rejects a directory it cannot create", async () => {
    write("out/blocker", "a file where a directory should be");
    const e = await rejection(SINKS.file!.open(spec("file", { path: "out/blocker/sub", format: "csv" }), sinkCtx(T.int)));
    expect(e.message).toMatch(/^cannot create the output directory `out\/blocker\/sub`/);
  });
});

// ------------------------------------------------------------------------------- stdio

describe("stdin and stdout", () => {
  it("reads stdin in a format, handing on each chunk's records without waiting for a full batch", async () => {
    const stdin = new PassThrough();
    const { ctx, bad } = sourceCtx(T.record([field("a", T.int)]), { stdin });
    const reader = await SOURCES.stdin!.open(spec("stdin", { format: "csv" }), ctx);
    stdin.write("a\n1\n");
    expect(await reader.next()).toEqual([{ a: 1 }]);
    stdin.write("x\n2\n");
    expect(await reader.next()).toEqual([{ a: 2 }]);
    expect(bad).toMatchObject([{ origin: "stdin", line: 3, message: 'field `a`: expected int, found "x"' }]);
    stdin.end("3");
    expect(await reader.next()).toEqual([{ a: 3 }]);
    expect(await reader.next()).toBeUndefined();
    await reader.close();
  });

  it("leaves stdin open when closed early: it belongs to the process", async () => {
    const stdin = new PassThrough();
    const { ctx } = sourceCtx(T.string, { stdin });
    const reader = await SOURCES.stdin!.open(spec("stdin", {}), ctx);
    stdin.write("a\n");
    expect(await reader.next()).toEqual(["a"]);
    const waiting = reader.next();
    await reader.close();
    expect(await waiting).toBeUndefined();
    expect(stdin.destroyed).toBe(false);
  });

  it("writes to stdout in a format, never ends it, and reports when its buffer is full", async () => {
    const chunks: string[] = [];
    const release: (() => void)[] = [];
    const stdout = new Writable({
      highWaterMark: 16,
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        release.push(done);
      },
    });
    const w = await SINKS.stdout!.open(spec("stdout", { format: "csv" }), sinkCtx(T.record([field("k", T.string), field("v", T.float)]), { stdout }));
    w.write([{ k: "a", v: 1.5 }, { k: "b,c", v: 2 }]);
    const ready = w.ready();
    expect(ready).toBeInstanceOf(Promise);
    let resolved = false;
    void ready!.then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    while (release.length > 0) release.shift()!();
    await ready;
    await w.close();
    expect(chunks.join("")).toBe('k,v\na,1.5\n"b,c",2\n');
    expect(stdout.writableEnded).toBe(false);
  });
});

// ------------------------------------------------------------------------------- socket

async function server(onConnection: (s: net.Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = net.createServer(onConnection);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((r) => srv.close(() => r())) };
}

async function freePort(): Promise<number> {
  const s = await server(() => {});
  await s.close();
  return s.port;
}

describe("socket", () => {
  it("reads text lines until the peer closes", async () => {
    const srv = await server((s) => {
      s.write("hello wor");
      setTimeout(() => s.end("ld\r\nsecond ünïcode\nthird"), 20);
    });
    const { ctx } = sourceCtx(T.string);
    const reader = await SOURCES.socket!.open(spec("socket", { host: "127.0.0.1", port: srv.port }), ctx);
    expect((await drain(reader)).records).toEqual(["hello world", "second ünïcode", "third"]);
    await srv.close();
  });

  it("reads each line as JSON for a non-string type and reports bad lines", async () => {
    const srv = await server((s) => s.end('{"user":"a","url":"/","ts":5}\nnope\n'));
    const { ctx, bad } = sourceCtx(Click);
    const reader = await SOURCES.socket!.open(spec("socket", { host: "127.0.0.1", port: srv.port }), ctx);
    expect((await drain(reader)).records).toEqual([{ user: "a", url: "/", ts: 5 }]);
    expect(bad).toMatchObject([{ origin: `socket 127.0.0.1:${srv.port}`, line: 2, text: "nope" }]);
    await srv.close();
  });

  it("ends a quiet socket source when the job is cancelled", async () => {
    const srv = await server(() => {});
    const abort = new AbortController();
    const { ctx } = sourceCtx(T.string, { signal: abort.signal });
    const reader = await SOURCES.socket!.open(spec("socket", { host: "127.0.0.1", port: srv.port }), ctx);
    const next = reader.next();
    setTimeout(() => abort.abort(), 20);
    expect(await next).toBeUndefined();
    await reader.close();
    await srv.close();
  });

  it("explains a refused connection and how to start a server", async () => {
    const port = await freePort();
    for (const role of ["source", "sink"] as const) {
      const opening = role === "source" ? SOURCES.socket!.open(spec("socket", { host: "127.0.0.1", port }), sourceCtx(T.string).ctx) : SINKS.socket!.open(spec("socket", { host: "127.0.0.1", port }), sinkCtx(T.string));
      const e = await rejection(opening);
      expect(e.message).toBe(`cannot connect to 127.0.0.1:${port}: connection refused`);
      expect(e.hint).toBe(`start a server first, for example \`nc -lk ${port}\``);
    }
  });

  it("writes one line per record, JSON for non-strings", async () => {
    let received = "";
    let closed!: () => void;
    const done = new Promise<void>((r) => (closed = r));
    const srv = await server((s) => {
      s.on("data", (d) => (received += String(d)));
      s.on("end", () => closed());
    });
    await runSink("socket", { host: "127.0.0.1", port: srv.port }, T.record([field("k", T.string)]), [[{ k: "a" }, { k: "b" }]]);
    await done;
    expect(received).toBe('{"k":"a"}\n{"k":"b"}\n');
    await srv.close();
  });
});

// ------------------------------------------------------------------------------- generate

describe("generate", () => {
  const Ev = T.record([field("id", T.int), field("user", T.string), field("score", T.float), field("ok", T.bool), field("ts", T.timestamp), field("tags", T.array(T.string)), field("note", T.string, true)]);

  async function generate(args: Record<string, ConstValue>, type: FlowType = Ev, batchSize = 64) {
    const { ctx } = sourceCtx(type, { batchSize });
    const reader = await SOURCES.generate!.open(spec("generate", args), ctx);
    return { ...(await drain(reader, batchSize)), reader };
  }

  it("produces `count` records by the documented rules", async () => {
    const { records, reader } = await generate({ count: 150 });
    expect(records).toHaveLength(150);
    expect(reader.progress?.()).toEqual({ done: 150, total: 150, unit: "records" });
    const r = records[5] as Record<string, unknown>;
    expect(r).toMatchObject({ id: 5, score: 5.5, ok: false, ts: FIRST_TIMESTAMP + 5000, note: undefined });
    expect(VOCABULARY).toContain(r.user);
    expect((r.tags as string[]).length).toBeGreaterThanOrEqual(1);
    expect((r.tags as string[]).length).toBeLessThanOrEqual(3);
    expect((records[4] as Record<string, unknown>).note).toEqual(expect.any(String));
    expect(new Set(records.map((x) => (x as Record<string, unknown>).user)).size).toBeGreaterThan(5);
  });

  it("gives the same records for the same arguments, and others for another seed", async () => {
    const a = await generate({ count: 300, seed: 7 });
    const b = await generate({ count: 300, seed: 7 }, Ev, 17);
    const c = await generate({ count: 300, seed: 8 });
    expect(b.records).toEqual(a.records);
    expect(c.records).not.toEqual(a.records);
    expect(generateValue(Ev, 42, 7)).toEqual(a.records[42]);
  });

  it("makes durations, optional numbers and nested records by the documented rules", async () => {
    const Plain = T.record([field("d", T.duration), field("o", T.int, true), field("inner", T.record([field("b", T.bool), field("f", T.float)]))]);
    const { records } = await generate({ count: 6 }, Plain);
    expect(records).toEqual([0, 1, 2, 3, 4, 5].map((n) => ({ d: n, o: n % 3 === 2 ? undefined : n, inner: { b: n % 2 === 0, f: n + 0.5 } })));
  });

  it("hands over ranges of record numbers (nextRange) that records() turns into the records next() gives", async () => {
    for (const type of [T.int, Ev]) {
      const whole = (await generate({ count: 700, seed: 3 }, type, 64)).records;
      const { ctx } = sourceCtx(type, { batchSize: 64 });
      const reader = await SOURCES.generate!.open(spec("generate", { count: 700, seed: 3 }), ctx);
      const got: unknown[] = [];
      const sizes: number[] = [];
      // Ranges of up to 300 (never below the batch size) mixed with batches; positions as with batches.
      for (let k = 0; ; k++) {
        if (k % 2 === 0) {
          const r = await reader.nextRange!(300);
          if (r === undefined) break;
          sizes.push(r.count);
          expect(r.from).toBe(got.length);
          got.push(...reader.records!(r.from, r.count));
        } else {
          const b = await reader.next();
          if (b === undefined) break;
          sizes.push(b.length);
          got.push(...b);
        }
        expect(reader.position!()).toEqual({ produced: got.length });
      }
      expect(got).toEqual(whole);
      expect(sizes.slice(0, 4)).toEqual([300, 64, 300, 36]);
      expect((await reader.nextRange!(10)) === undefined && (await reader.next()) === undefined).toBe(true);
      await reader.close();
    }
  });

  it("paces output to about `rate` records per second", async () => {
    const start = performance.now();
    const { records, batches } = await generate({ count: 100, rate: 200 }, T.int);
    expect(records).toEqual([...Array(100).keys()]);
    expect(performance.now() - start).toBeGreaterThanOrEqual(400);
    expect(batches).toBeGreaterThan(5);
  });
});

// ------------------------------------------------------------------------------- registry

describe("registry", () => {
  it("has an implementation for every catalog connector in each of its roles, and nothing else", () => {
    for (const role of ["source", "sink"] as const) {
      const table = role === "source" ? SOURCES : SINKS;
      const declared = CONNECTORS.filter((c) => c.roles.includes(role)).map((c) => c.name).sort();
      expect(Object.keys(table).sort()).toEqual(declared);
      for (const impl of Object.values(table)) expect(impl.kind).toBe(role);
    }
  });
});

// ------------------------------------------------------------------------------- resuming (checkpoints)

describe("sources resume at a checkpointed position", () => {
  it("a csv file: the rest of the records, the header kept, bad records with their own line numbers", async () => {
    const rows = ["user,url,ts", ...Array.from({ length: 250 }, (_, i) => (i % 40 === 7 ? `u${i},/p,not-a-time` : `u${i},/p${i % 3},${1000 + i}`))];
    write("resume/clicks.csv", "\uFEFF" + rows.join("\r\n") + "\r\n");
    const open = (over: Partial<SourceContext>) => SOURCES.file!.open(spec("file", { path: "resume/clicks.csv", format: "csv" }), over as SourceContext);
    const whole = sourceCtx(Click);
    const all = await drain(await open(whole.ctx));
    const first = sourceCtx(Click);
    const reader = await open(first.ctx);
    const head = [...(await reader.next())!];
    const position = reader.position!();
    await reader.close();
    // 100 good rows and 3 bad ones after the header: rows 0..102 are lines 2..104.
    expect(position).toMatchObject({ line: 104, header: "user,url,ts" });
    const second = sourceCtx(Click, { resume: position });
    const rest = await drain(await open(second.ctx));
    expect([...head, ...rest.records]).toEqual(all.records);
    expect([...first.bad, ...second.bad].map((b) => b.line)).toEqual(whole.bad.map((b) => b.line));
    expect(second.bad[0]!.line).toBe(129);
  });

  it("generate: from its sequence number on", async () => {
    const open = (over: Partial<SourceContext>) => SOURCES.generate!.open(spec("generate", { count: 500, rate: 0, seed: 3 }), over as SourceContext);
    const all = await drain(await open(sourceCtx(T.string).ctx));
    const reader = await open(sourceCtx(T.string).ctx);
    const head = [...(await reader.next())!];
    const rest = await drain(await open(sourceCtx(T.string, { resume: reader.position!() }).ctx));
    expect([...head, ...rest.records]).toEqual(all.records);
  });
});
