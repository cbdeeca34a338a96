// The language server, end to end: `flowc lsp --stdio` runs as a child process and a JSON-RPC
// client drives it as an editor would (initialize, didOpen, didChange, then every feature).
// Cursor positions are marked with `<|>` in the fixtures.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type {
  CompletionItem,
  CompletionList,
  DocumentSymbol,
  Hover,
  Location,
  Position,
  SemanticTokens,
  SignatureHelp,
  TextEdit,
  WorkspaceEdit,
} from "vscode-languageserver";
import { TextDocument } from "vscode-languageserver-textdocument";
import { format } from "../compiler/format/index.js";
import { analyze, SourceFile } from "../compiler/index.js";
import { completion } from "../compiler/lsp/completion.js";
import { FlowDocument } from "../compiler/lsp/document.js";
import { hover } from "../compiler/lsp/hover.js";
import { definition, documentSymbols, prepareRename, references } from "../compiler/lsp/navigation.js";
import { semanticTokens } from "../compiler/lsp/semantic-tokens.js";
import { signatureHelp } from "../compiler/lsp/signature-help.js";
import { ROOT } from "./helpers/cli.js";
import { LspClient, marked } from "./helpers/lsp-client.js";

let client: LspClient;
let capabilities: Record<string, unknown>;
let counter = 0;
const dir = mkdtempSync(join(tmpdir(), "flowc-lsp-"));

beforeAll(async () => {
  ({ client, capabilities } = await LspClient.start());
});

afterAll(async () => {
  expect(await client.stop()).toBe(0);
});

/** Opens a fixture in a new document and waits for its first diagnostics. */
async function openFixture(source: string, name = `doc${++counter}.flow`) {
  const m = marked(source);
  const uri = pathToFileURL(join(dir, name)).href;
  await client.open(uri, m.text);
  const diagnostics = await client.diagnostics(uri, 1);
  return { uri, text: m.text, at: m.at, diagnostics };
}

const doc = (uri: string, position: Position) => ({ textDocument: { uri }, position });
const hoverText = async (uri: string, position: Position) => ((await client.request<Hover | null>("textDocument/hover", doc(uri, position)))?.contents as { value: string } | undefined)?.value ?? "";
const completions = async (uri: string, position: Position) => {
  const r = await client.request<CompletionItem[] | CompletionList | null>("textDocument/completion", doc(uri, position));
  return (Array.isArray(r) ? r : (r?.items ?? [])).map((i) => i.label);
};
const applyEdits = (text: string, edits: TextEdit[]) => TextDocument.applyEdits(TextDocument.create("x", "flow", 1, text), edits);

const PROGRAM = `pipeline clicks

type Click = { user: string, url: string, ms: int }

const slowMs = 1000

source clicks: Cl<|>ick = file("clicks.jsonl", format: "jsonl")

// Slow clicks only.
stream sl<|>ow = clicks |> filter(c => c.ms > slow<|>Ms)

slow
  |> m<|>ap(c<|> => { user: c.us<|>er, secs: c.ms / 1000<|> })
  |> fil<|>ter(r => r.secs > 1.0 && l<|>en(r.user) > 0)
  |> key<|>By(r => r.user)
  |> window(tumbling(1m))
  |> co<|>unt()
  |> sink stdout() as counts

test "slow clicks" {
  given clicks = []
  expect co<|>unts = []
}
`;

describe("initialize", () => {
  it("announces every feature", () => {
    for (const k of [
      "hoverProvider",
      "completionProvider",
      "definitionProvider",
      "referencesProvider",
      "renameProvider",
      "documentSymbolProvider",
      "documentFormattingProvider",
      "semanticTokensProvider",
      "signatureHelpProvider",
    ]) {
      expect(capabilities, k).toHaveProperty(k);
    }
    expect((capabilities.semanticTokensProvider as { legend: { tokenTypes: string[] } }).legend.tokenTypes).toContain("parameter");
  });
});

describe("diagnostics", () => {
  it("a valid program has none", async () => {
    const f = await openFixture(PROGRAM);
    expect(f.diagnostics).toEqual([]);
  });

  it("reports both errors of a file with two, with codes and ranges", async () => {
    const f = await openFixture(`type Click = { user: string, url: string }
source clicks: Click = stdin(format: "jsonl")
clicks
  |> fitler(c => c.url != "")
  |> sink stdout()
clicks |> map(c => c.nmae) |> sink stdout()
`);
    const errors = f.diagnostics.filter((d) => d.severity === 1);
    expect(errors.map((d) => d.code)).toEqual(["FLOW2002", "FLOW2005"]);
    expect(errors[0]!.range).toEqual({ start: { line: 3, character: 5 }, end: { line: 3, character: 11 } });
    expect(errors[0]!.message).toContain("did you mean `filter`?");
    expect(errors[1]!.range).toEqual({ start: { line: 5, character: 21 }, end: { line: 5, character: 25 } });
    expect(errors[1]!.message).toContain("no field named `nmae`");
    expect(errors[0]!.source).toBe("flowc");
  });

  it("one syntax error does not hide the errors of the rest of the file", async () => {
    const f = await openFixture(`source lines: string = stdin()
lines |> map(l => ) |> sink stdout()
lines |> fitler(l => l != "") |> sink stdout()
lines |> map(l => l + 1) |> sink stdout(format: "xml")
`);
    const codes = f.diagnostics.map((d) => `${d.range.start.line}:${d.code}`);
    expect(codes).toContain("1:FLOW1001");
    expect(codes).toContain("2:FLOW2002");
    expect(codes).toContain("3:FLOW2006");
  });

  it("maps labels to related information", async () => {
    const f = await openFixture(`source lines: string = stdin()
source lines: string = stdin()
lines |> sink stdout()
`);
    const dup = f.diagnostics.find((d) => d.code === "FLOW2009")!;
    expect(dup.range.start.line).toBe(1);
    expect(dup.relatedInformation).toEqual([{ location: { uri: f.uri, range: { start: { line: 0, character: 7 }, end: { line: 0, character: 12 } } }, message: "first defined here" }]);
  });

  it("follows changes as they are typed: full and incremental", async () => {
    const f = await openFixture(`source lines: string = stdin()
lines |> map(l => upper(l)) |> sink stdout()
`);
    expect(f.diagnostics).toEqual([]);
    const v2 = await client.change(f.uri, `source lines: string = stdin()\nlines |> map(l => uper(l)) |> sink stdout()\n`);
    expect((await client.diagnostics(f.uri, v2)).map((d) => d.code)).toEqual(["FLOW2003"]);
    // Fix the typo with an incremental edit: insert the missing `p`.
    const v3 = await client.edit(f.uri, { start: { line: 1, character: 20 }, end: { line: 1, character: 20 } }, "p");
    expect(await client.diagnostics(f.uri, v3)).toEqual([]);
  });
});

describe("hover", () => {
  let f: Awaited<ReturnType<typeof openFixture>>;
  beforeAll(async () => {
    f = await openFixture(PROGRAM);
  });

  it("a lambda parameter shows the record type of the stream", async () => {
    expect(await hoverText(f.uri, f.at[4]!)).toContain("(parameter) c: Click = { user: string, url: string, ms: int }");
  });

  it("a field shows its type", async () => {
    expect(await hoverText(f.uri, f.at[5]!)).toContain("(field) user: string");
  });

  it("an expression shows its type", async () => {
    expect(await hoverText(f.uri, f.at[6]!)).toMatch(/1000: int/);
  });

  it("declarations and references: a type, a stream, a constant", async () => {
    expect(await hoverText(f.uri, f.at[0]!)).toContain("type Click = { user: string, url: string, ms: int }");
    expect(await hoverText(f.uri, f.at[1]!)).toMatch(/stream slow[\s\S]*elements: `Click`/);
    expect(await hoverText(f.uri, f.at[2]!)).toContain("const slowMs: int = 1000");
  });

  it("a built-in shows its signature", async () => {
    expect(await hoverText(f.uri, f.at[8]!)).toContain("len(x: string | T[]): int");
  });

  it("operators show their plan facts: fused chain, exchange key, state, time", async () => {
    const map = await hoverText(f.uri, f.at[3]!);
    expect(map).toContain("map(x => e)");
    // `slow` is used once, so its filter fuses with the steps after it.
    expect(map).toMatch(/\*\*fused chain\*\* `chain_filter_map_filter_keyBy_\w+`: \[filter@10, map@13, filter@14, keyBy@15\] \(step 2 of 4\)/);
    expect(map).toContain("Produces a stream of elements: `{ user: string, secs: float }`");
    const filter = await hoverText(f.uri, f.at[7]!);
    expect(filter).toContain("(step 3 of 4)");
    const keyBy = await hoverText(f.uri, f.at[9]!);
    expect(keyBy).toContain("**hash exchange** after this step");
    expect(keyBy).toContain("keyed by `string`");
    const count = await hoverText(f.uri, f.at[10]!);
    expect(count).toContain("**state**: per key and window");
    expect(count).toContain("tumbling window, 60000 ms, **processing time**");
  });

  it("on `|>` and on a sink: the step and the exchange before it", async () => {
    const onPipe = await hoverText(f.uri, { line: 16, character: 3 });
    expect(onPipe).toContain("count()");
    expect(onPipe).toContain("input: hash exchange");
    const sink = await hoverText(f.uri, { line: 17, character: 10 });
    expect(sink).toContain("Writes to standard output");
    expect(sink).toMatch(/sink `sink_counts_\w+`: stdout\(\) as counts; 1 instance; input: gather/);
  });

  it("says when plan facts are missing because of errors", async () => {
    const g = await openFixture(`source lines: string = stdin()
lines |> k<|>eyBy(l => l) |> count() |> sink stdout()
lines |> fitler(l => true) |> sink stdout()
`);
    const text = await hoverText(g.uri, g.at[0]!);
    expect(text).toContain("keyed by `string`");
    expect(text).toContain("Plan facts appear when the file has no errors");
  });

  it("a named sink in a test shows its element type", async () => {
    expect(await hoverText(f.uri, f.at[11]!)).toContain("sink counts: { key: string, count: int, start: timestamp, end: timestamp }");
  });
});

describe("completion", () => {
  it("after `|>`: the operators and sink", async () => {
    const f = await openFixture(`source words: string = stdin()
words
  |> <|>
`);
    const labels = await completions(f.uri, f.at[0]!);
    expect(labels).toEqual(expect.arrayContaining(["map", "filter", "flatMap", "keyBy", "window", "count", "aggregate", "union", "sink"]));
    expect(labels).not.toContain("len");
  });

  it("after `|>` with a prefix, and after `|> sink`", async () => {
    const f = await openFixture(`source words: string = stdin()
words |> fi<|> |> sink <|>
`);
    expect(await completions(f.uri, f.at[0]!)).toContain("filter");
    const sinks = await completions(f.uri, f.at[1]!);
    expect(sinks).toEqual(expect.arrayContaining(["stdout", "file", "socket"]));
    expect(sinks).not.toContain("stdin");
  });

  it("after `w.`: the fields of w's type", async () => {
    const f = await openFixture(`type Word = { word: string, count: int, tags?: string[] }
source words: Word = stdin(format: "jsonl")
words |> map(w => w.<|>) |> sink stdout()
words |> map(w => w.co<|>
`);
    expect((await completions(f.uri, f.at[0]!)).sort()).toEqual(["count", "tags", "word"]);
    expect(await completions(f.uri, f.at[1]!)).toContain("count");
  });

  it("fields of a record made by an earlier step", async () => {
    const f = await openFixture(`source lines: string = stdin()
lines |> map(l => { text: l, size: len(l) }) |> filter(r => r.<|> > 3) |> sink stdout()
`);
    expect((await completions(f.uri, f.at[0]!)).sort()).toEqual(["size", "text"]);
  });

  it("in a lambda's body: its parameters, constants, built-ins", async () => {
    const f = await openFixture(`const limit = 3
source lines: string = stdin()
lines |> filter(line => <|>) |> sink stdout()
`);
    const labels = await completions(f.uri, f.at[0]!);
    expect(labels).toEqual(expect.arrayContaining(["line", "limit", "len", "lower", "split"]));
    expect(labels).not.toContain("lines");
  });

  it("types, connectors and their named arguments, streams, keywords, window kinds", async () => {
    const f = await openFixture(`type Click = { user: string }
source clicks: <|>
source other: Click = <|>
source more: string = file("x", fo<|>)
<|>
clicks |> keyBy(c => c.user) |> window(<|>) |> count() |> sink stdout()
`);
    expect(await completions(f.uri, f.at[0]!)).toEqual(expect.arrayContaining(["int", "string", "timestamp", "Click"]));
    const sources = await completions(f.uri, f.at[1]!);
    expect(sources).toEqual(expect.arrayContaining(["file", "stdin", "generate", "socket"]));
    expect(sources).not.toContain("stdout");
    expect(await completions(f.uri, f.at[2]!)).toContain("format:");
    expect(await completions(f.uri, f.at[3]!)).toEqual(expect.arrayContaining(["clicks", "other", "source", "stream", "type"]));
    expect(await completions(f.uri, f.at[4]!)).toEqual(expect.arrayContaining(["tumbling", "sliding", "session"]));
  });

  it("config keys, sources after `given`, sinks after `expect`, aggregates in aggregate({...})", async () => {
    const f = await openFixture(`config { <|> }
source lines: string = stdin()
lines |> keyBy(l => l) |> aggregate({ n: <|> }) |> sink stdout() as out
test "t" {
  given <|>
}
test "u" {
  expect ordered <|>
}
`);
    expect(await completions(f.uri, f.at[0]!)).toEqual(["partitions", "checkpoint", "keyGroups", "batchSize", "failOnError"]);
    expect(await completions(f.uri, f.at[1]!)).toEqual(["count", "sum", "min", "max", "avg", "reduce"]);
    expect(await completions(f.uri, f.at[2]!)).toEqual(["lines"]);
    expect(await completions(f.uri, f.at[3]!)).toEqual(["out"]);
  });

  it("nothing inside a comment or a string", async () => {
    const f = await openFixture(`// a comment <|>
source lines: string = file("pa<|>th")
lines |> sink stdout()
`);
    expect(await completions(f.uri, f.at[0]!)).toEqual([]);
    expect(await completions(f.uri, f.at[1]!)).toEqual([]);
  });
});

describe("go to definition, references, rename", () => {
  let f: Awaited<ReturnType<typeof openFixture>>;
  beforeAll(async () => {
    f = await openFixture(PROGRAM);
  });
  const lineOf = (locs: Location[]) => locs.map((l) => `${l.range.start.line}:${l.range.start.character}`);

  it("goes to the declaration of a type, a stream, a constant, a parameter and a named sink", async () => {
    const def = (p: Position) => client.request<Location[]>("textDocument/definition", doc(f.uri, p));
    expect(lineOf(await def(f.at[0]!))).toEqual(["2:5"]);
    expect(lineOf(await def(f.at[2]!))).toEqual(["4:6"]);
    expect(lineOf(await def({ line: 12, character: 22 }))).toEqual(["12:9"]);
    expect(lineOf(await def(f.at[11]!))).toEqual(["17:22"]);
    // `slow` at the start of the pipeline.
    expect(lineOf(await def({ line: 11, character: 1 }))).toEqual(["9:7"]);
  });

  it("finds every reference", async () => {
    const refs = await client.request<Location[]>("textDocument/references", { ...doc(f.uri, f.at[1]!), context: { includeDeclaration: true } });
    expect(lineOf(refs)).toEqual(["9:7", "11:0"]);
    const params = await client.request<Location[]>("textDocument/references", { ...doc(f.uri, f.at[4]!), context: { includeDeclaration: false } });
    expect(lineOf(params)).toEqual(["12:22", "12:36"]);
  });

  it("renames a name everywhere, after prepareRename", async () => {
    const prep = await client.request<{ range: unknown; placeholder: string } | null>("textDocument/prepareRename", doc(f.uri, f.at[0]!));
    expect(prep?.placeholder).toBe("Click");
    const edit = await client.request<WorkspaceEdit>("textDocument/rename", { ...doc(f.uri, f.at[1]!), newName: "slowClicks" });
    const edits = edit.changes![f.uri]!;
    expect(edits).toHaveLength(2);
    const renamed = applyEdits(f.text, edits);
    expect(renamed).toContain("stream slowClicks = clicks");
    expect(renamed).toContain("\nslowClicks\n  |> map");
    expect(analyze(new SourceFile("r.flow", renamed)).diagnostics).toEqual([]);
  });

  it("renames a lambda parameter only inside its lambda", async () => {
    const edit = await client.request<WorkspaceEdit>("textDocument/rename", { ...doc(f.uri, f.at[4]!), newName: "click" });
    const renamed = applyEdits(f.text, edit.changes![f.uri]!);
    expect(renamed).toContain("|> map(click => { user: click.user, secs: click.ms / 1000 })");
    expect(renamed).toContain("filter(c => c.ms > slowMs)");
  });

  it("refuses a keyword as the new name, and a name that is not the program's", async () => {
    await expect(client.request("textDocument/rename", { ...doc(f.uri, f.at[1]!), newName: "source" })).rejects.toThrow(/keyword/);
    expect(await client.request("textDocument/prepareRename", doc(f.uri, f.at[8]!))).toBeNull();
  });

  it("imported functions: the import's path opens the file, a call goes to the export", async () => {
    writeFileSync(join(dir, "udfs.ts"), "// helpers\nexport function score(s: string): number {\n  return s.length;\n}\n");
    const g = await openFixture(`import { score } from "./ud<|>fs.ts"
source lines: string = stdin()
lines |> map(l => sc<|>ore(l)) |> sink stdout()
`);
    const udfs = pathToFileURL(join(dir, "udfs.ts")).href;
    const onPath = await client.request<Location[]>("textDocument/definition", doc(g.uri, g.at[0]!));
    expect(onPath.map((l) => l.uri)).toEqual([udfs]);
    const onCall = await client.request<Location[]>("textDocument/definition", doc(g.uri, g.at[1]!));
    expect(onCall).toEqual([{ uri: udfs, range: { start: { line: 1, character: 16 }, end: { line: 1, character: 21 } } }]);
  });
});

describe("document symbols, formatting, semantic tokens, signature help", () => {
  it("lists the items of the file, with children", async () => {
    const f = await openFixture(PROGRAM);
    const symbols = await client.request<DocumentSymbol[]>("textDocument/documentSymbol", { textDocument: { uri: f.uri } });
    expect(symbols.map((s) => s.name)).toEqual(["clicks", "Click", "slowMs", "clicks", "slow", "slow → counts", 'test "slow clicks"']);
    expect(symbols[1]!.children!.map((c) => c.name)).toEqual(["user", "url", "ms"]);
    expect(symbols[5]!.children!.map((c) => c.name)).toEqual(["map", "filter", "keyBy", "window", "count", "sink stdout"]);
  });

  it("formats like flowc fmt, and leaves a file with syntax errors alone", async () => {
    const messy = "source lines:string=stdin()\nlines|>map(l=>upper(l))|>sink stdout()\n";
    const f = await openFixture(messy);
    const edits = await client.request<TextEdit[]>("textDocument/formatting", { textDocument: { uri: f.uri }, options: { tabSize: 2, insertSpaces: true } });
    expect(applyEdits(messy, edits)).toBe(format(new SourceFile("x.flow", messy)).text);
    expect(applyEdits(messy, edits)).toBe("source lines: string = stdin()\nlines\n  |> map(l => upper(l))\n  |> sink stdout()\n");
    const g = await openFixture("source lines: string = stdin()\nlines |> map(l => ) |> sink stdout()\n");
    expect(await client.request("textDocument/formatting", { textDocument: { uri: g.uri }, options: { tabSize: 2, insertSpaces: true } })).toEqual([]);
  });

  it("classifies every name: types, parameters, operators, built-ins, fields, comments", async () => {
    const f = await openFixture(PROGRAM);
    const legend = (capabilities.semanticTokensProvider as { legend: { tokenTypes: string[]; tokenModifiers: string[] } }).legend;
    const tokens = await client.request<SemanticTokens>("textDocument/semanticTokens/full", { textDocument: { uri: f.uri } });
    const lines = f.text.split("\n");
    const decoded: Array<{ text: string; type: string; line: number; modifiers: string[] }> = [];
    let line = 0;
    let char = 0;
    for (let i = 0; i < tokens.data.length; i += 5) {
      const [dl, dc, len, type, mods] = tokens.data.slice(i, i + 5) as [number, number, number, number, number];
      line += dl;
      char = dl === 0 ? char + dc : dc;
      decoded.push({ text: lines[line]!.slice(char, char + len), type: legend.tokenTypes[type]!, line, modifiers: legend.tokenModifiers.filter((_, b) => mods & (1 << b)) });
    }
    const kind = (text: string, line: number) => decoded.find((t) => t.text === text && t.line === line)?.type;
    expect(kind("Click", 2)).toBe("struct");
    expect(kind("Click", 6)).toBe("struct");
    expect(kind("string", 2)).toBe("type");
    expect(kind("slowMs", 9)).toBe("variable");
    expect(kind("c", 12)).toBe("parameter");
    expect(kind("user", 12)).toBe("property");
    expect(kind("map", 12)).toBe("method");
    expect(kind("len", 13)).toBe("function");
    expect(kind("file", 6)).toBe("namespace");
    expect(kind("source", 6)).toBe("keyword");
    expect(kind("// Slow clicks only.", 8)).toBe("comment");
    expect(kind("1000", 4)).toBe("number");
    expect(decoded.find((t) => t.text === "slow" && t.line === 9)?.modifiers).toContain("declaration");
  });

  it("signature help for built-ins, connectors and operators, with the active parameter", async () => {
    const f = await openFixture(`source lines: string = file("x", <|>)
lines |> map(l => substr(l, <|>)) |> window(<|>) |> sink file("out", format: <|>)
`);
    const help = (p: Position) => client.request<SignatureHelp | null>("textDocument/signatureHelp", doc(f.uri, p));
    const a = await help(f.at[0]!);
    expect(a?.signatures[0]!.label).toBe('file(path: string, format?: "lines" | "csv" | "jsonl")');
    expect(a?.activeParameter).toBe(1);
    const b = await help(f.at[1]!);
    expect(b?.signatures[0]!.label).toBe("substr(s: string, start: int, length?: int): string");
    expect(b?.activeParameter).toBe(1);
    const sig = b!.signatures[0]!;
    const [s, e] = sig.parameters![1]!.label as [number, number];
    expect(sig.label.slice(s, e)).toBe("start: int");
    expect((await help(f.at[2]!))?.signatures[0]!.label).toBe("window(tumbling(size))");
    const d = await help(f.at[3]!);
    expect(d?.activeParameter).toBe(1);
  });
});

describe("in process: no feature fails anywhere", () => {
  it("at every position of the examples and of files with syntax and type errors", () => {
    const files = [
      "examples/clicks.flow",
      "examples/wordcount.flow",
      "test/fixtures/parse/errors-three-items/input.flow",
      "test/fixtures/parse/FLOW1001-unclosed-argument-list/input.flow",
      "test/fixtures/check/many-errors-one-run/input.flow",
    ];
    let positions = 0;
    for (const f of files) {
      const text = readFileSync(join(ROOT, f), "utf8");
      const d = new FlowDocument(pathToFileURL(join(ROOT, f)).href, 1, text);
      expect(semanticTokens(d).data.length % 5).toBe(0);
      expect(documentSymbols(d).length).toBeGreaterThan(0);
      for (let o = 0; o <= text.length; o++) {
        hover(d, o);
        completion(d, o);
        signatureHelp(d, o);
        definition(d, o);
        references(d, o, true);
        prepareRename(d, o);
        positions++;
      }
    }
    expect(positions).toBeGreaterThan(1000);
  });
});
