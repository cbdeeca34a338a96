// The VS Code extension's language client (editor/vscode/extension.js and lsp-client.js), run
// under Node with a stand-in for the `vscode` module against a server built on
// vscode-languageserver: it starts the server from `flow.server.path`, opens only .flow documents,
// turns published diagnostics into VS Code diagnostics, forwards edits, answers the server's
// configuration request, bridges the providers the server announces, shuts the server down with
// shutdown + exit, restarts, and says so when the server cannot be started.
import { existsSync, mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "./helpers/cli.js";
import { document, fakeVscode, Position, Range, until } from "./fixtures/vscode/fake-vscode.js";

const require = createRequire(import.meta.url);
const extension = require(join(ROOT, "editor/vscode/extension.js"));
const { MessageReader, frame } = require(join(ROOT, "editor/vscode/lsp-client.js"));
const FAKE_SERVER = join(ROOT, "test/fixtures/vscode/fake-server.cjs");

const token = { isCancellationRequested: false, onCancellationRequested: () => ({ dispose() {} }) };

function setup(settings: Record<string, unknown> = { "flow.server.path": FAKE_SERVER }) {
  const dir = mkdtempSync(join(tmpdir(), "flow-vscode-"));
  const flowDoc = document(join(dir, "a.flow"), "flow", "lines |> fitler(x => x)\n  |> sink stdout()   \n");
  const textDoc = document(join(dir, "notes.txt"), "plaintext", "fitler");
  const fake = fakeVscode({ settings, folders: [dir], documents: [flowDoc, textDoc] });
  const context = { subscriptions: [] as { dispose(): unknown }[] };
  return { dir, flowDoc, textDoc, fake, context };
}

afterEach(async () => {
  await extension.deactivate();
});

describe("the base protocol", () => {
  it("reassembles messages split anywhere, with multi-byte characters counted in bytes", () => {
    const messages = [{ jsonrpc: "2.0", id: 1, result: "héllo → 😀" }, { jsonrpc: "2.0", method: "x", params: { s: "ü".repeat(100) } }];
    const bytes = Buffer.concat(messages.map(frame));
    for (let step = 1; step <= 7; step++) {
      const got: unknown[] = [];
      const reader = new MessageReader((m: unknown) => got.push(m), (e: Error) => {
        throw e;
      });
      for (let i = 0; i < bytes.length; i += step) reader.push(bytes.subarray(i, i + step));
      expect(got).toEqual(messages);
    }
  });
});

describe("the language client", () => {
  it("runs a server from flow.server.path and shows its diagnostics for .flow documents only", async () => {
    const { fake, context, flowDoc, textDoc, dir } = setup();
    const client = await extension.activate(context, fake.api);
    expect(client.connection).toBeDefined();
    const diags = await until(() => fake.diagnostics.get(flowDoc.uri.toString())?.length && fake.diagnostics.get(flowDoc.uri.toString()), "diagnostics");
    expect(diags).toHaveLength(1);
    expect(diags[0]).toMatchObject({ message: "I cannot find an operator named `fitler`.", severity: fake.api.DiagnosticSeverity.Error, code: "FLOW2002", source: "flowc" });
    expect(diags[0]!.range).toEqual(new Range(new Position(0, 9), new Position(0, 15)));
    expect(fake.diagnostics.has(textDoc.uri.toString())).toBe(false);
    await until(() => fake.output.some((l) => l.startsWith("opened")), "the open notification");
    expect(fake.output.filter((l) => l.startsWith("opened"))).toEqual([`opened ${flowDoc.uri} v1`]);
    expect(fake.output).toContain(`initialize from Flow for VS Code pid=${process.pid} root=${fake.api.Uri.file(dir)}`);
    // The server asked for its configuration (a request from server to client) and got it.
    await until(() => fake.output.includes(`configuration flow.server.path=${FAKE_SERVER}`), "the configuration answer");
  });

  it("sends edits, saves and closes; diagnostics follow", async () => {
    const { fake, context, flowDoc } = setup();
    await extension.activate(context, fake.api);
    const uri = flowDoc.uri.toString();
    await until(() => fake.diagnostics.get(uri)?.length === 1, "the first diagnostics");

    Object.assign(flowDoc, { text: "lines |> filter(x => x ?? 1) |> sink stdout()\n", version: 2 });
    fake.events.change.fire({ document: flowDoc, contentChanges: [{ text: "x" }] });
    const diags = await until(() => fake.diagnostics.get(uri)?.[0]?.code === "FLOW2019" && fake.diagnostics.get(uri), "the diagnostics of the edit");
    expect(diags).toHaveLength(1);
    expect(diags[0]!.severity).toBe(fake.api.DiagnosticSeverity.Warning);

    fake.events.save.fire(flowDoc);
    await until(() => fake.output.includes(`saved ${uri}`), "the save notification");
    fake.events.close.fire(flowDoc);
    await until(() => fake.output.includes(`closed ${uri}`), "the close notification");
    expect(fake.diagnostics.has(uri)).toBe(false);
  });

  it("bridges the features the server announces", async () => {
    const { fake, context, flowDoc } = setup();
    await extension.activate(context, fake.api);
    expect([...fake.providers.keys()].sort()).toEqual(["codeActions", "completion", "definition", "formatting", "hover", "symbols"]);
    const p = (name: string) => fake.providers.get(name) as Record<string, (...a: unknown[]) => Promise<any>>;

    const hover = await p("hover").provideHover!(flowDoc, new Position(0, 10), token);
    expect(hover.contents.value).toBe("**hover** at 0:10");

    const completion = await p("completion").provideCompletionItems!(flowDoc, new Position(0, 10), token);
    expect(completion.items.map((i: { label: string }) => i.label)).toEqual(["filter", "map"]);
    expect(completion.items[0]).toMatchObject({ kind: 2, detail: "filter(x => cond)" }); // LSP Function (3) is VS Code's 2
    expect(completion.items[0].documentation.value).toBe("Keeps elements");
    expect(completion.items[1].insertText).toEqual(new fake.api.SnippetString("map(${1:x} => $0)"));

    const [definition] = await p("definition").provideDefinition!(flowDoc, new Position(0, 1), token);
    expect(definition.uri.toString()).toBe(flowDoc.uri.toString());
    expect(definition.range).toEqual(new Range(new Position(0, 0), new Position(0, 5)));

    const [symbol] = await p("symbols").provideDocumentSymbols!(flowDoc, token);
    expect(symbol).toMatchObject({ name: "lines", kind: 12 }); // LSP Variable (13) is VS Code's 12

    const [edit] = await p("formatting").provideDocumentFormattingEdits!(flowDoc, { tabSize: 2, insertSpaces: true }, token);
    expect(edit.newText).toBe("lines |> fitler(x => x)\n  |> sink stdout()\n");

    const diagnostics = await until(() => fake.diagnostics.get(flowDoc.uri.toString()), "diagnostics");
    const [action] = await p("codeActions").provideCodeActions!(flowDoc, diagnostics[0]!.range, { diagnostics }, token);
    expect(action.title).toBe("Change to `filter`");
    expect(action.kind.value).toBe("quickfix");
    expect(action.edit.edits).toEqual([{ uri: flowDoc.uri.toString(), range: diagnostics[0]!.range, newText: "filter" }]);
  });

  it("stops the server with shutdown and exit, and restarts it", async () => {
    const { fake, context, flowDoc } = setup();
    const client = await extension.activate(context, fake.api);
    const first = client.connection.process;
    await until(() => fake.diagnostics.get(flowDoc.uri.toString())?.length, "diagnostics");

    await fake.commands.get("flow.restartServer")!();
    // vscode-languageserver exits with 0 only after a shutdown request followed by exit.
    expect(first.exitCode).toBe(0);
    expect(client.connection.process).not.toBe(first);
    await until(() => fake.diagnostics.get(flowDoc.uri.toString())?.length, "diagnostics from the new server");
    expect(fake.messages).toEqual([]);

    const second = client.connection.process;
    await extension.deactivate();
    expect(second.exitCode).toBe(0);
    expect(fake.providers.size).toBe(0);
    expect(fake.diagnostics.size).toBe(0);
  });

  it("says when the server cannot be started, naming the setting", async () => {
    const { fake, context } = setup({ "flow.server.path": "/nonexistent/flowc" });
    const client = await extension.activate(context, fake.api);
    expect(client.connection).toBeUndefined();
    expect(fake.messages).toHaveLength(1);
    expect(fake.messages[0]!.type).toBe("error");
    expect(fake.messages[0]!.message).toMatch(/Could not start the Flow language server `\/nonexistent\/flowc lsp --stdio`: .*ENOENT.*flow\.server\.path/);
  });

  it("reports a server that dies, offering a restart", async () => {
    const { fake, context, flowDoc } = setup();
    const client = await extension.activate(context, fake.api);
    await until(() => fake.diagnostics.get(flowDoc.uri.toString())?.length, "diagnostics");
    client.connection.process.kill("SIGKILL");
    await until(() => fake.messages.length > 0, "the error message");
    expect(fake.messages[0]!.message).toMatch(/stopped: the server exited \(SIGKILL\)/);
    expect(client.connection).toBeUndefined();
    expect(fake.diagnostics.size).toBe(0);
  });
});


// The real server is built by another part of the project (compiler/lsp); until it exists this
// test is skipped, and afterwards it checks the extension against it end to end.
describe("with the real flowc language server", () => {
  it.skipIf(!existsSync(join(ROOT, "dist/compiler/lsp")))("shows flowc's diagnostics for an unknown operator", async () => {
    const { fake, context, flowDoc } = setup({ "flow.server.path": join(ROOT, "bin/flowc.js") });
    flowDoc.text = 'source lines: string = stdin()\n\nlines\n  |> fitler(l => l != "")\n  |> sink stdout()\n';
    const client = await extension.activate(context, fake.api);
    expect(client.connection, fake.output.join("\n")).toBeDefined();
    const diags = await until(() => fake.diagnostics.get(flowDoc.uri.toString())?.length && fake.diagnostics.get(flowDoc.uri.toString()), "flowc diagnostics", 30_000);
    expect(diags.map((d) => (typeof d.code === "object" ? (d.code as { value: string }).value : d.code))).toContain("FLOW2002");
    expect(diags[0]!.range.start).toEqual(new Position(3, 5));
  });
});
