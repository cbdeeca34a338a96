// Highlights Flow code with shiki using the generated TextMate grammar
// (editor/vscode/syntaxes/flow.tmLanguage.json), the grammar the VS Code extension uses.
// Used by scripts/docs-html.mjs and test/grammar-shiki.test.ts.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createHighlighter } from "shiki";

const GRAMMAR = fileURLToPath(new URL("../editor/vscode/syntaxes/flow.tmLanguage.json", import.meta.url));

/** The Flow language as shiki registers it (id `flow`). */
export function flowLanguage() {
  return { ...JSON.parse(readFileSync(GRAMMAR, "utf8")), name: "flow", displayName: "Flow" };
}

/** A shiki highlighter that knows Flow, with the given bundled themes. */
export function createFlowHighlighter(themes = ["github-light"]) {
  return createHighlighter({ themes, langs: [flowLanguage()] });
}

/** The ```flow blocks of a Markdown text (also ```flow error and ```flow warning), with their line. */
export function flowBlocks(markdown) {
  return [...markdown.matchAll(/^```flow(?: error| warning)?\n([\s\S]*?)^```$/gm)].map((m) => ({
    line: markdown.slice(0, m.index).split("\n").length,
    code: m[1],
  }));
}
