// Writes the TextMate grammars of editor/vscode/syntaxes/ (and the .tmLanguage of editor/sublime/) from the built generator
// (dist/grammar/textmate.js). Runs after every `npm run build` (the `postbuild` script).
// With --check it writes nothing and exits 1 when a file on disk is out of date.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tm from "../dist/grammar/textmate.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const check = process.argv.includes("--check");
const outputs = [
  [tm.GRAMMAR_PATH, tm.grammarText(tm.flowGrammar())],
  [tm.MARKDOWN_INJECTION_PATH, tm.grammarText(tm.markdownInjectionGrammar())],
  [tm.PLIST_GRAMMAR_PATH, tm.grammarPlist(tm.flowGrammar())],
];

let stale = 0;
for (const [path, text] of outputs) {
  const file = join(root, path);
  let current;
  try {
    current = readFileSync(file, "utf8");
  } catch {
    current = undefined;
  }
  if (current === text) continue;
  if (check) {
    console.error(`${path} is out of date: run \`npm run build\``);
    stale++;
  } else {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`wrote ${path}`);
  }
}
process.exit(stale > 0 ? 1 : 0);
