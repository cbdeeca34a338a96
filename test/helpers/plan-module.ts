// Compiles a .flow program into `dir` (its plan module and any imported .ts files it emits) and
// imports the plan module: the generated code a test runs is the one flowc emits.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { compile, SourceFile } from "../../compiler/index.js";
import type { PlanModule } from "../../runtime/plan.js";

export async function compileModule(dir: string, name: string, text: string): Promise<PlanModule> {
  const file = new SourceFile(join(dir, `${name}.flow`), text);
  const r = await compile(file, { outDir: dir, sourceDir: dir });
  if (!r.emitted) throw new Error(`does not compile:\n${text}\n${r.diagnostics.map((d) => d.message).join("\n")}`);
  for (const f of r.emitted.files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.text);
  }
  const path = join(dir, `${r.emitted.baseName}.js`);
  writeFileSync(path, r.emitted.js);
  return (await import(pathToFileURL(path).href)) as PlanModule;
}
