// The VS Code extension in editor/vscode: its manifest contributes the language, the generated
// grammars and the language configuration, whose comments and brackets are the lexer's; and
// `vsce package --no-dependencies` builds a .vsix offline that holds exactly the files it needs.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { GRAMMAR_PATH, MARKDOWN_INJECTION_PATH, MARKDOWN_INJECTION_SCOPE, SCOPE_NAME } from "../grammar/textmate.js";
import { tokenize, tokenMeta } from "../grammar/tokens.js";
import { ROOT } from "./helpers/cli.js";

const require = createRequire(import.meta.url);
const EXT = join(ROOT, "editor/vscode");
const manifest = JSON.parse(readFileSync(join(EXT, "package.json"), "utf8"));
const languageConfig = JSON.parse(readFileSync(join(EXT, "language-configuration.json"), "utf8"));

describe("the extension manifest", () => {
  it("contributes the flow language for .flow files, with its configuration", () => {
    const [lang] = manifest.contributes.languages;
    expect(lang).toMatchObject({ id: "flow", extensions: [".flow"] });
    expect(existsSync(join(EXT, lang.configuration))).toBe(true);
    expect(manifest.activationEvents).toContain("onLanguage:flow");
    expect(existsSync(join(EXT, manifest.main))).toBe(true);
  });

  it("contributes the generated grammar and the Markdown injection", () => {
    const grammars = manifest.contributes.grammars;
    const flow = grammars.find((g: { language?: string }) => g.language === "flow");
    expect(flow.scopeName).toBe(SCOPE_NAME);
    expect(join(EXT, flow.path)).toBe(join(ROOT, GRAMMAR_PATH));
    expect(JSON.parse(readFileSync(join(EXT, flow.path), "utf8")).scopeName).toBe(SCOPE_NAME);
    const md = grammars.find((g: { injectTo?: string[] }) => g.injectTo);
    expect(md).toMatchObject({ scopeName: MARKDOWN_INJECTION_SCOPE, injectTo: ["text.html.markdown"], embeddedLanguages: { "meta.embedded.block.flow": "flow" } });
    expect(join(EXT, md.path)).toBe(join(ROOT, MARKDOWN_INJECTION_PATH));
  });

  it("has the server path setting and the commands extension.js registers", () => {
    expect(manifest.contributes.configuration.properties["flow.server.path"]).toMatchObject({ type: "string", default: "" });
    expect(manifest.contributes.configuration.properties["flow.server.args"].default).toEqual(["lsp", "--stdio"]);
    const source = readFileSync(join(EXT, "extension.js"), "utf8");
    for (const c of manifest.contributes.commands) expect(source).toContain(`registerCommand("${c.command}"`);
  });

  it("needs no dependencies", () => {
    expect(manifest.dependencies ?? {}).toEqual({});
    const requires = [...readFileSync(join(EXT, "extension.js"), "utf8").matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(requires.filter((r) => !r.startsWith("node:") && !r.startsWith("./") && r !== "vscode")).toEqual([]);
  });
});

describe("the language configuration agrees with the lexer", () => {
  it("comments are the lexer's comments", () => {
    const { lineComment, blockComment } = languageConfig.comments;
    const line = tokenize(`${lineComment} a comment`, "t.flow");
    expect(line.tokens).toEqual([]);
    expect(line.comments.map((c) => c.block)).toEqual([false]);
    const block = tokenize(`${blockComment[0]} a\ncomment ${blockComment[1]}`, "t.flow");
    expect(block.tokens).toEqual([]);
    expect(block.comments.map((c) => c.block)).toEqual([true]);
    expect(block.diagnostics).toEqual([]);
  });

  it("brackets and surrounding pairs are the lexer's bracket tokens", () => {
    const punctuation = new Set(tokenMeta.filter((m) => m.category === "punctuation").map((m) => m.text));
    const lexerBrackets = ["(", ")", "[", "]", "{", "}"].filter((b) => punctuation.has(b));
    expect(languageConfig.brackets.flat().sort()).toEqual(lexerBrackets.sort());
    const auto = languageConfig.autoClosingPairs.map((p: { open: string; close: string }) => [p.open, p.close.trim()]);
    for (const [open, close] of languageConfig.brackets) expect(auto).toContainEqual([open, close]);
    expect(auto).toContainEqual(['"', '"']);
    expect(languageConfig.surroundingPairs).toContainEqual(['"', '"']);
    // A string auto-closes only outside strings and comments.
    expect(languageConfig.autoClosingPairs.find((p: { open: string }) => p.open === '"').notIn).toEqual(["string", "comment"]);
  });

  it("folding markers are comments", () => {
    const start = new RegExp(languageConfig.folding.markers.start);
    const end = new RegExp(languageConfig.folding.markers.end);
    for (const [text, re] of [["  // #region sources", start], ["// region", start], ["// #endregion", end]] as const) {
      expect(re.test(text), text).toBe(true);
      expect(tokenize(text, "t.flow").comments).toHaveLength(1);
    }
    expect(start.test("region = 1")).toBe(false);
  });

  it("the word pattern takes whole names and durations", () => {
    const word = new RegExp(`^(?:${languageConfig.wordPattern})$`);
    for (const w of ["keyBy", "_x1", "250ms", "10s", "3.5", "1e3"]) expect(word.test(w), w).toBe(true);
    expect(word.test("a.b")).toBe(false);
  });
});

/** The entries of a zip archive: name → content (stored or deflated entries). */
function readZip(zip: Buffer): Map<string, Buffer> {
  let eocd = zip.length - 22;
  while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error("not a zip archive");
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const entries = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error("bad central directory");
    const method = zip.readUInt16LE(p + 10);
    const compressed = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString("utf8");
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressed);
    entries.set(name, method === 0 ? data : inflateRawSync(data));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

describe("packaging", () => {
  it("vsce package --no-dependencies builds a .vsix offline with the grammar, the configuration and the client", () => {
    const out = join(mkdtempSync(join(tmpdir(), "flow-vsix-")), "flow.vsix");
    const vsce = join(dirname(require.resolve("@vscode/vsce/package.json")), "vsce");
    const r = spawnSync(process.execPath, [vsce, "package", "--no-dependencies", "--skip-license", "--allow-missing-repository", "-o", out], {
      cwd: EXT,
      encoding: "utf8",
      timeout: 120_000,
      // No network: a proxy that does not exist makes any attempt to reach the internet fail.
      env: { ...process.env, HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9", npm_config_offline: "true" },
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const entries = readZip(readFileSync(out));
    expect([...entries.keys()].sort()).toEqual([
      "[Content_Types].xml",
      "extension.vsixmanifest",
      "extension/extension.js",
      "extension/language-configuration.json",
      "extension/lsp-client.js",
      "extension/package.json",
      "extension/readme.md",
      "extension/syntaxes/flow-markdown-injection.tmLanguage.json",
      "extension/syntaxes/flow.tmLanguage.json",
    ]);
    for (const f of ["extension.js", "lsp-client.js", "language-configuration.json", "syntaxes/flow.tmLanguage.json", "syntaxes/flow-markdown-injection.tmLanguage.json"]) {
      expect(entries.get(`extension/${f}`)!.toString("utf8"), f).toBe(readFileSync(join(EXT, f), "utf8"));
    }
    const vsixManifest = entries.get("extension.vsixmanifest")!.toString("utf8");
    expect(vsixManifest).toContain('Id="flow-language"');
    expect(vsixManifest).toContain("Microsoft.VisualStudio.Code");
  });
});
