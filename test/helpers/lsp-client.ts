// A language-server client for tests: starts `flowc lsp --stdio` as a child process and talks
// JSON-RPC to it over its standard input and output (vscode-jsonrpc), as an editor does. Fixture
// texts mark cursor positions with `<|>`.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from "vscode-jsonrpc/node";
import type { Diagnostic, Position, PublishDiagnosticsParams } from "vscode-languageserver";
import { FLOWC } from "./cli.js";

export interface Marked {
  text: string;
  /** The positions of the `<|>` markers, in order. */
  at: Position[];
}

/** Removes the `<|>` markers of a fixture and returns the text and their positions. */
export function marked(source: string): Marked {
  const at: Position[] = [];
  let text = "";
  let rest = source;
  for (;;) {
    const i = rest.indexOf("<|>");
    if (i < 0) break;
    text += rest.slice(0, i);
    const lines = text.split("\n");
    at.push({ line: lines.length - 1, character: lines.at(-1)!.length });
    rest = rest.slice(i + 3);
  }
  return { text: text + rest, at };
}

export class LspClient {
  readonly conn: MessageConnection;
  private readonly published = new Map<string, PublishDiagnosticsParams[]>();
  private readonly waiters: Array<() => void> = [];
  stderr = "";
  private version = new Map<string, number>();

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    this.conn = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    child.stderr.on("data", (d) => (this.stderr += d));
    this.conn.onNotification("textDocument/publishDiagnostics", (p: PublishDiagnosticsParams) => {
      const list = this.published.get(p.uri) ?? [];
      list.push(p);
      this.published.set(p.uri, list);
      for (const w of this.waiters.splice(0)) w();
    });
    this.conn.onNotification("window/logMessage", () => {});
    this.conn.listen();
  }

  static async start(): Promise<{ client: LspClient; capabilities: Record<string, unknown> }> {
    const child = spawn(process.execPath, [FLOWC, "lsp", "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    const client = new LspClient(child);
    const init = await client.conn.sendRequest<{ capabilities: Record<string, unknown> }>("initialize", { processId: process.pid, rootUri: null, capabilities: {} });
    await client.conn.sendNotification("initialized", {});
    return { client, capabilities: init.capabilities };
  }

  async open(uri: string, text: string): Promise<void> {
    this.version.set(uri, 1);
    await this.conn.sendNotification("textDocument/didOpen", { textDocument: { uri, languageId: "flow", version: 1, text } });
  }

  /** Replaces the whole text (full sync). */
  async change(uri: string, text: string): Promise<number> {
    const v = (this.version.get(uri) ?? 1) + 1;
    this.version.set(uri, v);
    await this.conn.sendNotification("textDocument/didChange", { textDocument: { uri, version: v }, contentChanges: [{ text }] });
    return v;
  }

  /** An incremental edit: replaces a range. */
  async edit(uri: string, range: { start: Position; end: Position }, text: string): Promise<number> {
    const v = (this.version.get(uri) ?? 1) + 1;
    this.version.set(uri, v);
    await this.conn.sendNotification("textDocument/didChange", { textDocument: { uri, version: v }, contentChanges: [{ range, text }] });
    return v;
  }

  /** The diagnostics published for a document's version (waits for them). */
  async diagnostics(uri: string, version?: number, timeoutMs = 20_000): Promise<Diagnostic[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (this.published.get(uri) ?? []).find((p) => version === undefined || p.version === version);
      if (found) return found.diagnostics;
      if (Date.now() > deadline) throw new Error(`no diagnostics for ${uri} version ${version}; server stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.conn.sendRequest<R>(method, params);
  }

  async stop(): Promise<number | null> {
    const exited = new Promise<number | null>((resolve) => this.child.on("exit", (code) => resolve(code)));
    try {
      await this.conn.sendRequest("shutdown");
      await this.conn.sendNotification("exit");
    } catch {
      this.child.kill();
    }
    const code = await exited;
    this.conn.dispose();
    return code;
  }
}
