// The Flow extension for VS Code. package.json contributes the language, the TextMate grammar
// (generated from the lexer, see grammar/textmate.ts) and the language configuration; this file
// starts the language server, `flowc lsp --stdio`, and connects it to VS Code: document sync,
// diagnostics, and the features the server announces (hover, completion, signature help, go to
// definition, references, highlights, symbols, formatting, rename, code actions).
//
// It speaks LSP through lsp-client.js rather than vscode-languageclient, so the extension is plain
// JavaScript with no dependencies (see docs/editors.md for why).
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { LspConnection } = require("./lsp-client");

const LANGUAGE = "flow";
const SELECTOR = [
  { language: LANGUAGE, scheme: "file" },
  { language: LANGUAGE, scheme: "untitled" },
];

let current;

/** `api` is the vscode module; tests pass a stand-in. Returns the client (its API for tests). */
async function activate(context, api) {
  const vscode = api ?? require("vscode");
  const output = vscode.window.createOutputChannel("Flow");
  const diagnostics = vscode.languages.createDiagnosticCollection(LANGUAGE);
  const client = new FlowClient(vscode, output, diagnostics);
  current = client;
  context.subscriptions.push(
    output,
    diagnostics,
    vscode.commands.registerCommand("flow.restartServer", () => client.restart()),
    vscode.commands.registerCommand("flow.showOutput", () => output.show()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration("flow.server")) client.restart();
    }),
    { dispose: () => client.stop() },
  );
  await client.start();
  return client;
}

async function deactivate() {
  const client = current;
  current = undefined;
  if (client) await client.stop();
}

class FlowClient {
  constructor(vscode, output, diagnostics) {
    this.vscode = vscode;
    this.output = output;
    this.diagnostics = diagnostics;
    this.connection = undefined;
    this.capabilities = {};
    this.features = [];
    this.convert = converters(vscode);
  }

  /** The command that starts the server: flow.server.path, else the workspace's flowc, else flowc on the PATH. */
  serverCommand() {
    const config = this.vscode.workspace.getConfiguration("flow");
    const args = config.get("server.args") ?? ["lsp", "--stdio"];
    const folders = this.vscode.workspace.workspaceFolders ?? [];
    const cwd = folders[0]?.uri.fsPath;
    let command = (config.get("server.path") ?? "").trim();
    if (command.startsWith("~/")) command = path.join(require("node:os").homedir(), command.slice(2));
    if (command && !path.isAbsolute(command) && /[\\/]/.test(command) && cwd) command = path.join(cwd, command);
    if (!command) {
      const bin = process.platform === "win32" ? "flowc.cmd" : "flowc";
      command = folders.map((f) => path.join(f.uri.fsPath, "node_modules", ".bin", bin)).find((p) => fs.existsSync(p)) ?? "flowc";
    }
    // A JavaScript file runs on the Node inside VS Code (Electron run as Node), as vscode-languageclient does.
    if (/\.[cm]?js$/.test(command)) {
      return { command: process.execPath, args: [command, ...args], cwd, env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" }, shell: false };
    }
    return { command, args, cwd, env: process.env, shell: process.platform === "win32" && /\.(cmd|bat)$/i.test(command) };
  }

  async start() {
    const vscode = this.vscode;
    const { command, args, cwd, env, shell } = this.serverCommand();
    this.output.appendLine(`Starting the Flow language server: ${command} ${args.join(" ")}`);
    const conn = new LspConnection(command, args, { cwd, env, shell, log: (text) => this.output.appendLine(text) });
    this.connection = conn;
    let ready = false;
    conn.onExit(({ error }) => {
      // Before the handshake ends, the failed initialize request reports the problem (below).
      if (this.connection !== conn || !ready) return;
      this.connection = undefined;
      this.teardown();
      this.output.appendLine(`The Flow language server stopped: ${error ? error.message : "exit"}`);
      vscode.window
        .showErrorMessage(`The Flow language server (${command}) stopped: ${error ? error.message : "exit"}.`, "Restart", "Show output")
        .then((choice) => (choice === "Restart" ? this.restart() : choice === "Show output" ? this.output.show() : undefined));
    });
    this.handleServerMessages(conn);

    let result;
    try {
      result = await conn.request("initialize", this.initializeParams());
    } catch (e) {
      if (this.connection !== conn) return;
      this.connection = undefined;
      const message = `Could not start the Flow language server \`${command} ${args.join(" ")}\`: ${e.message}. Install flowc, or set "flow.server.path".`;
      this.output.appendLine(message);
      vscode.window.showErrorMessage(message);
      conn.process.kill();
      return;
    }
    ready = true;
    this.capabilities = (result && result.capabilities) || {};
    const info = result && result.serverInfo;
    this.output.appendLine(`Connected${info ? ` to ${info.name}${info.version ? ` ${info.version}` : ""}` : ""}.`);
    conn.notify("initialized", {});
    this.registerFeatures();
    this.syncDocuments();
  }

  async stop() {
    const conn = this.connection;
    this.connection = undefined;
    this.teardown();
    if (conn) await conn.stop();
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  teardown() {
    for (const d of this.features.splice(0)) d.dispose();
    this.diagnostics.clear();
  }

  initializeParams() {
    const folders = this.vscode.workspace.workspaceFolders ?? [];
    const formats = ["markdown", "plaintext"];
    return {
      processId: process.pid,
      clientInfo: { name: "Flow for VS Code" },
      rootUri: folders[0] ? folders[0].uri.toString() : null,
      workspaceFolders: folders.length ? folders.map((f) => ({ uri: f.uri.toString(), name: f.name })) : null,
      capabilities: {
        textDocument: {
          synchronization: { didSave: true },
          publishDiagnostics: { relatedInformation: true, codeDescriptionSupport: true },
          hover: { contentFormat: formats },
          completion: { completionItem: { snippetSupport: true, documentationFormat: formats } },
          signatureHelp: { signatureInformation: { documentationFormat: formats, parameterInformation: { labelOffsetSupport: true } } },
          definition: { linkSupport: true },
          references: {},
          documentHighlight: {},
          documentSymbol: { hierarchicalDocumentSymbolSupport: true },
          formatting: {},
          rangeFormatting: {},
          rename: { prepareSupport: false },
          codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ["", "quickfix", "refactor", "source"] } } },
        },
        workspace: { configuration: true, workspaceFolders: true, applyEdit: true },
      },
    };
  }

  handleServerMessages(conn) {
    const vscode = this.vscode;
    const c = this.convert;
    conn.onNotification("textDocument/publishDiagnostics", (p) => this.diagnostics.set(vscode.Uri.parse(p.uri), p.diagnostics.map(c.diagnostic)));
    conn.onNotification("window/logMessage", (p) => this.output.appendLine(p.message));
    conn.onNotification("window/showMessage", (p) => showMessage(vscode, p.type, p.message));
    conn.onRequest("window/showMessageRequest", async (p) => {
      const titles = (p.actions ?? []).map((a) => a.title);
      const chosen = await showMessage(vscode, p.type, p.message, titles);
      return (p.actions ?? []).find((a) => a.title === chosen) ?? null;
    });
    conn.onRequest("workspace/configuration", (p) => p.items.map((item) => (item.section ? (vscode.workspace.getConfiguration().get(item.section) ?? null) : null)));
    conn.onRequest("workspace/workspaceFolders", () => (vscode.workspace.workspaceFolders ?? []).map((f) => ({ uri: f.uri.toString(), name: f.name })));
    conn.onRequest("workspace/applyEdit", async (p) => ({ applied: await vscode.workspace.applyEdit(c.workspaceEdit(p.edit)) }));
    conn.onRequest("client/registerCapability", () => null);
    conn.onRequest("client/unregisterCapability", () => null);
    conn.onRequest("window/workDoneProgress/create", () => null);
  }

  /** Sends a request for a VS Code provider; a failure is logged and gives no result. */
  async ask(method, params, token) {
    const conn = this.connection;
    if (!conn) return null;
    try {
      return await conn.request(method, params, token ? (cb) => token.onCancellationRequested(cb) : undefined);
    } catch (e) {
      if (!(token && token.isCancellationRequested)) this.output.appendLine(`${method} failed: ${e.message}`);
      return null;
    }
  }

  registerFeatures() {
    const vscode = this.vscode;
    const L = vscode.languages;
    const caps = this.capabilities;
    const c = this.convert;
    const at = (doc, pos) => ({ textDocument: { uri: doc.uri.toString() }, position: c.fromPosition(pos) });
    const add = (d) => this.features.push(d);

    if (caps.hoverProvider) {
      add(L.registerHoverProvider(SELECTOR, { provideHover: async (doc, pos, token) => c.hover(await this.ask("textDocument/hover", at(doc, pos), token)) }));
    }
    if (caps.completionProvider) {
      add(
        L.registerCompletionItemProvider(
          SELECTOR,
          { provideCompletionItems: async (doc, pos, token) => c.completion(await this.ask("textDocument/completion", at(doc, pos), token)) },
          ...(caps.completionProvider.triggerCharacters ?? []),
        ),
      );
    }
    if (caps.signatureHelpProvider) {
      add(
        L.registerSignatureHelpProvider(
          SELECTOR,
          { provideSignatureHelp: async (doc, pos, token) => c.signatureHelp(await this.ask("textDocument/signatureHelp", at(doc, pos), token)) },
          ...(caps.signatureHelpProvider.triggerCharacters ?? []),
        ),
      );
    }
    if (caps.definitionProvider) {
      add(L.registerDefinitionProvider(SELECTOR, { provideDefinition: async (doc, pos, token) => c.locations(await this.ask("textDocument/definition", at(doc, pos), token)) }));
    }
    if (caps.referencesProvider) {
      add(
        L.registerReferenceProvider(SELECTOR, {
          provideReferences: async (doc, pos, ctx, token) => c.locations(await this.ask("textDocument/references", { ...at(doc, pos), context: { includeDeclaration: ctx.includeDeclaration } }, token)),
        }),
      );
    }
    if (caps.documentHighlightProvider) {
      add(
        L.registerDocumentHighlightProvider(SELECTOR, {
          provideDocumentHighlights: async (doc, pos, token) => (await this.ask("textDocument/documentHighlight", at(doc, pos), token))?.map(c.highlight) ?? null,
        }),
      );
    }
    if (caps.documentSymbolProvider) {
      add(
        L.registerDocumentSymbolProvider(SELECTOR, {
          provideDocumentSymbols: async (doc, token) => c.symbols(await this.ask("textDocument/documentSymbol", { textDocument: { uri: doc.uri.toString() } }, token), doc.uri),
        }),
      );
    }
    if (caps.documentFormattingProvider) {
      add(
        L.registerDocumentFormattingEditProvider(SELECTOR, {
          provideDocumentFormattingEdits: async (doc, options, token) =>
            (await this.ask("textDocument/formatting", { textDocument: { uri: doc.uri.toString() }, options: c.formattingOptions(options) }, token))?.map(c.textEdit) ?? null,
        }),
      );
    }
    if (caps.documentRangeFormattingProvider) {
      add(
        L.registerDocumentRangeFormattingEditProvider(SELECTOR, {
          provideDocumentRangeFormattingEdits: async (doc, range, options, token) =>
            (await this.ask("textDocument/rangeFormatting", { textDocument: { uri: doc.uri.toString() }, range: c.fromRange(range), options: c.formattingOptions(options) }, token))?.map(c.textEdit) ?? null,
        }),
      );
    }
    if (caps.renameProvider) {
      add(
        L.registerRenameProvider(SELECTOR, {
          provideRenameEdits: async (doc, pos, newName, token) => c.workspaceEdit(await this.ask("textDocument/rename", { ...at(doc, pos), newName }, token)),
        }),
      );
    }
    if (caps.codeActionProvider) {
      add(
        L.registerCodeActionsProvider(SELECTOR, {
          provideCodeActions: async (doc, range, ctx, token) => {
            const params = { textDocument: { uri: doc.uri.toString() }, range: c.fromRange(range), context: { diagnostics: ctx.diagnostics.map(c.fromDiagnostic) } };
            return (await this.ask("textDocument/codeAction", params, token))?.map(c.codeAction).filter(Boolean) ?? null;
          },
        }),
      );
    }
  }

  /** didOpen/didChange/didClose/didSave as the server's textDocumentSync asks (changes sent as full text). */
  syncDocuments() {
    const vscode = this.vscode;
    const sync = this.capabilities.textDocumentSync;
    const change = typeof sync === "number" ? sync : (sync?.change ?? 0);
    const openClose = typeof sync === "number" ? sync > 0 : !!sync?.openClose;
    const save = typeof sync === "object" && sync !== null && !!sync.save;
    const includeText = typeof sync?.save === "object" && !!sync.save.includeText;
    const isFlow = (doc) => doc.languageId === LANGUAGE;
    const uri = (doc) => doc.uri.toString();
    const conn = () => this.connection;
    const open = (doc) => isFlow(doc) && conn()?.notify("textDocument/didOpen", { textDocument: { uri: uri(doc), languageId: LANGUAGE, version: doc.version, text: doc.getText() } });

    if (openClose) {
      for (const doc of vscode.workspace.textDocuments) open(doc);
      this.features.push(vscode.workspace.onDidOpenTextDocument(open));
      this.features.push(
        vscode.workspace.onDidCloseTextDocument((doc) => {
          if (!isFlow(doc)) return;
          conn()?.notify("textDocument/didClose", { textDocument: { uri: uri(doc) } });
          this.diagnostics.delete(doc.uri);
        }),
      );
    }
    if (change > 0) {
      this.features.push(
        vscode.workspace.onDidChangeTextDocument((e) => {
          if (!isFlow(e.document) || e.contentChanges.length === 0) return;
          conn()?.notify("textDocument/didChange", { textDocument: { uri: uri(e.document), version: e.document.version }, contentChanges: [{ text: e.document.getText() }] });
        }),
      );
    }
    if (save) {
      this.features.push(
        vscode.workspace.onDidSaveTextDocument((doc) => {
          if (isFlow(doc)) conn()?.notify("textDocument/didSave", { textDocument: { uri: uri(doc) }, ...(includeText ? { text: doc.getText() } : {}) });
        }),
      );
    }
  }
}

function showMessage(vscode, type, message, items = []) {
  const w = vscode.window;
  const show = type === 1 ? w.showErrorMessage : type === 2 ? w.showWarningMessage : w.showInformationMessage;
  return Promise.resolve(show.call(w, message, ...items));
}

/** LSP values to VS Code values and back. */
function converters(vscode) {
  const position = (p) => new vscode.Position(p.line, p.character);
  const range = (r) => new vscode.Range(position(r.start), position(r.end));
  const fromPosition = (p) => ({ line: p.line, character: p.character });
  const fromRange = (r) => ({ start: fromPosition(r.start), end: fromPosition(r.end) });
  const uri = (u) => vscode.Uri.parse(u);
  const location = (l) => (l.targetUri ? new vscode.Location(uri(l.targetUri), range(l.targetSelectionRange ?? l.targetRange)) : new vscode.Location(uri(l.uri), range(l.range)));
  // LSP severities are 1..4 (Error first); VS Code's DiagnosticSeverity is 0..3 in the same order.
  const severity = (s) => [vscode.DiagnosticSeverity.Error, vscode.DiagnosticSeverity.Warning, vscode.DiagnosticSeverity.Information, vscode.DiagnosticSeverity.Hint][(s ?? 1) - 1];
  const fromSeverity = (s) => [vscode.DiagnosticSeverity.Error, vscode.DiagnosticSeverity.Warning, vscode.DiagnosticSeverity.Information, vscode.DiagnosticSeverity.Hint].indexOf(s) + 1 || 1;
  const markdown = (contents) => {
    const md = new vscode.MarkdownString();
    const add = (c) => {
      if (typeof c === "string") md.appendMarkdown(c);
      else if (c.kind === "plaintext") md.appendText(c.value);
      else if (c.kind === "markdown") md.appendMarkdown(c.value);
      else md.appendCodeblock(c.value, c.language);
    };
    for (const c of Array.isArray(contents) ? contents : [contents]) add(c);
    return md;
  };
  const documentation = (d) => (d === undefined || d === null ? undefined : typeof d === "string" ? d : markdown(d));
  const textEdit = (e) => new vscode.TextEdit(range(e.range), e.newText);
  const workspaceEdit = (w) => {
    if (!w) return null;
    const edit = new vscode.WorkspaceEdit();
    for (const [u, edits] of Object.entries(w.changes ?? {})) for (const e of edits) edit.replace(uri(u), range(e.range), e.newText);
    for (const change of w.documentChanges ?? []) {
      if (change.textDocument) for (const e of change.edits) edit.replace(uri(change.textDocument.uri), range(e.range), e.newText);
    }
    return edit;
  };
  const diagnostic = (d) => {
    const out = new vscode.Diagnostic(range(d.range), d.message, severity(d.severity));
    if (d.code !== undefined) out.code = d.codeDescription ? { value: d.code, target: uri(d.codeDescription.href) } : d.code;
    out.source = d.source ?? "flow";
    if (d.relatedInformation) out.relatedInformation = d.relatedInformation.map((r) => new vscode.DiagnosticRelatedInformation(location(r.location), r.message));
    return out;
  };
  const fromDiagnostic = (d) => ({
    range: fromRange(d.range),
    message: d.message,
    severity: fromSeverity(d.severity),
    ...(d.code !== undefined ? { code: typeof d.code === "object" ? d.code.value : d.code } : {}),
    ...(d.source ? { source: d.source } : {}),
  });
  const completionItem = (i) => {
    const item = new vscode.CompletionItem(i.label, i.kind ? i.kind - 1 : undefined);
    if (i.detail) item.detail = i.detail;
    if (i.documentation) item.documentation = documentation(i.documentation);
    if (i.sortText) item.sortText = i.sortText;
    if (i.filterText) item.filterText = i.filterText;
    const text = i.textEdit ? i.textEdit.newText : i.insertText;
    if (text !== undefined) item.insertText = i.insertTextFormat === 2 ? new vscode.SnippetString(text) : text;
    if (i.textEdit) item.range = i.textEdit.range ? range(i.textEdit.range) : { inserting: range(i.textEdit.insert), replacing: range(i.textEdit.replace) };
    if (i.additionalTextEdits) item.additionalTextEdits = i.additionalTextEdits.map(textEdit);
    return item;
  };
  const symbol = (s, docUri) =>
    s.location
      ? new vscode.SymbolInformation(s.name, s.kind - 1, s.containerName ?? "", location(s.location))
      : Object.assign(new vscode.DocumentSymbol(s.name, s.detail ?? "", s.kind - 1, range(s.range), range(s.selectionRange)), {
          children: (s.children ?? []).map((child) => symbol(child, docUri)),
        });
  return {
    position,
    range,
    fromPosition,
    fromRange,
    diagnostic,
    fromDiagnostic,
    textEdit,
    workspaceEdit,
    hover: (h) => (h ? new vscode.Hover(markdown(h.contents), h.range ? range(h.range) : undefined) : null),
    completion: (r) => (r ? new vscode.CompletionList((Array.isArray(r) ? r : r.items).map(completionItem), Array.isArray(r) ? false : !!r.isIncomplete) : null),
    signatureHelp: (h) => {
      if (!h) return null;
      const help = new vscode.SignatureHelp();
      help.signatures = h.signatures.map((s) => {
        const info = new vscode.SignatureInformation(s.label, documentation(s.documentation));
        info.parameters = (s.parameters ?? []).map((p) => new vscode.ParameterInformation(p.label, documentation(p.documentation)));
        if (s.activeParameter !== undefined) info.activeParameter = s.activeParameter;
        return info;
      });
      help.activeSignature = h.activeSignature ?? 0;
      help.activeParameter = h.activeParameter ?? 0;
      return help;
    },
    locations: (r) => (r ? (Array.isArray(r) ? r : [r]).map(location) : null),
    highlight: (h) => new vscode.DocumentHighlight(range(h.range), h.kind !== undefined ? h.kind - 1 : undefined),
    symbols: (r, docUri) => (r ? r.map((s) => symbol(s, docUri)) : null),
    formattingOptions: (o) => ({ tabSize: o.tabSize, insertSpaces: o.insertSpaces }),
    codeAction: (a) => {
      // A bare server command would need workspace/executeCommand wiring; Flow's fixes are edits.
      if (typeof a.command === "string") return undefined;
      const action = new vscode.CodeAction(a.title, a.kind ? vscode.CodeActionKind.Empty.append(a.kind) : undefined);
      if (a.edit) action.edit = workspaceEdit(a.edit);
      if (a.diagnostics) action.diagnostics = a.diagnostics.map(diagnostic);
      if (a.isPreferred) action.isPreferred = true;
      return action;
    },
  };
}

module.exports = { activate, deactivate, FlowClient, converters };
