// The language server (`flowc lsp --stdio`): vscode-languageserver over the compiler's own phases.
// Every open document is analysed (parse with recovery, then check) when it opens and whenever it
// changes, and its diagnostics are published at once; the features read that analysis (see
// document.ts): hover, completion, go to definition, references, rename, document symbols,
// formatting (`flowc fmt`), semantic tokens and signature help. Features never throw to the
// client: a failure is logged and answered with nothing.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  createConnection,
  DiagnosticSeverity,
  ProposedFeatures,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type InitializeResult,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import { CODES } from "../diagnostics/codes.js";
import type { Diagnostic } from "../diagnostics/diagnostic.js";
import { format } from "../format/index.js";
import { SourceFile } from "../source.js";
import { completion } from "./completion.js";
import { FlowDocument } from "./document.js";
import { hover } from "./hover.js";
import { definition, documentSymbols, prepareRename, references, rename } from "./navigation.js";
import { legend, semanticTokens } from "./semantic-tokens.js";
import { signatureHelp } from "./signature-help.js";

const ERRORS_DOC = fileURLToPath(new URL("../../../docs/errors.md", import.meta.url));

export const capabilities: InitializeResult["capabilities"] = {
  textDocumentSync: TextDocumentSyncKind.Incremental,
  hoverProvider: true,
  completionProvider: { triggerCharacters: [".", ">"] },
  signatureHelpProvider: { triggerCharacters: ["(", ","], retriggerCharacters: [":"] },
  definitionProvider: true,
  referencesProvider: true,
  renameProvider: { prepareProvider: true },
  documentSymbolProvider: true,
  documentFormattingProvider: true,
  semanticTokensProvider: { legend, full: true },
};

/** Starts the server on a connection (by default over standard input and output). */
export function startServer(connection: Connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout)): Connection {
  const documents = new TextDocuments(TextDocument);
  const analysed = new Map<string, FlowDocument>();

  const get = (uri: string): FlowDocument | undefined => {
    const doc = documents.get(uri);
    if (!doc) return undefined;
    let d = analysed.get(uri);
    if (!d || d.version !== doc.version) {
      d = new FlowDocument(doc.uri, doc.version, doc.getText());
      analysed.set(uri, d);
    }
    return d;
  };

  /** Runs a feature on a document; a failure is logged, and the client gets `fallback` (or the ResponseError thrown). */
  const feature = <P extends { textDocument: { uri: string } }, R>(name: string, fallback: R, run: (d: FlowDocument, p: P) => R) => {
    return (p: P): R => {
      const d = get(p.textDocument.uri);
      if (!d) return fallback;
      try {
        return run(d, p);
      } catch (e) {
        if (e instanceof ResponseError) throw e;
        connection.console.error(`flowc: ${name} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
        return fallback;
      }
    };
  };

  connection.onInitialize((): InitializeResult => ({ capabilities, serverInfo: { name: "flowc", version: "0.1.0" } }));

  documents.onDidChangeContent(({ document }) => {
    const d = get(document.uri);
    if (!d) return;
    let diagnostics: LspDiagnostic[] = [];
    try {
      diagnostics = d.analysis.diagnostics.map((x) => toLsp(d, x));
    } catch (e) {
      connection.console.error(`flowc: diagnostics failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics });
  });
  documents.onDidClose(({ document }) => {
    analysed.delete(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });

  connection.onHover(feature("hover", null, (d, p) => hover(d, d.offset(p.position))));
  connection.onCompletion(feature("completion", [], (d, p) => completion(d, d.offset(p.position))));
  connection.onSignatureHelp(feature("signature help", null, (d, p) => signatureHelp(d, d.offset(p.position))));
  connection.onDefinition(feature("definition", [], (d, p) => definition(d, d.offset(p.position))));
  connection.onReferences(feature("references", [], (d, p) => references(d, d.offset(p.position), p.context.includeDeclaration)));
  connection.onPrepareRename(feature("prepare rename", null, (d, p) => prepareRename(d, d.offset(p.position))));
  connection.onRenameRequest(
    feature("rename", null, (d, p) => {
      const r = rename(d, d.offset(p.position), p.newName);
      if (typeof r === "string") throw new ResponseError(-32803, r);
      return r;
    }),
  );
  connection.onDocumentSymbol(feature("document symbols", [], (d) => documentSymbols(d)));
  connection.onDocumentFormatting(
    feature("formatting", [], (d) => {
      const r = format(d.file);
      if (r.text === undefined || r.text === d.text) return [];
      return [{ range: { start: { line: 0, character: 0 }, end: d.position(d.text.length) }, newText: r.text }];
    }),
  );
  connection.languages.semanticTokens.on(feature("semantic tokens", { data: [] }, (d) => semanticTokens(d)));

  documents.listen(connection);
  connection.listen();
  return connection;
}

function toLsp(d: FlowDocument, x: Diagnostic): LspDiagnostic {
  const slug = `${x.code.toLowerCase()}-${CODES[x.code].title.toLowerCase().replace(/[^a-z0-9 -]/g, "").replace(/ /g, "-")}`;
  return {
    range: d.range(x.span),
    severity: x.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: x.code,
    ...(existsSync(ERRORS_DOC) ? { codeDescription: { href: `${pathToFileURL(ERRORS_DOC).href}#${slug}` } } : {}),
    source: "flowc",
    message: [x.message, ...x.hints.map((h) => `help: ${h}`)].join("\n"),
    relatedInformation: x.labels.map((l) => {
      if (l.file === undefined || l.file === d.file.path) return { location: { uri: d.uri, range: d.range(l.span) }, message: l.message };
      return { location: { uri: pathToFileURL(l.file).href, range: rangeInFile(l.file, l.span) }, message: l.message };
    }),
  };
}

function rangeInFile(path: string, span: { start: number; end: number }) {
  try {
    const f = new SourceFile(path, readFileSync(path, "utf8"));
    const a = f.position(span.start);
    const b = f.position(span.end);
    return { start: { line: a.line - 1, character: a.column - 1 }, end: { line: b.line - 1, character: b.column - 1 } };
  } catch {
    return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  }
}
