// Loads an emitted plan into this process: writes the .js module and the files it imports
// (transpiled UDF modules) into a fresh directory, imports it, and removes the directory again.
// A fresh directory each time, because Node caches imported modules by URL within a process.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { PlanModule } from "../../runtime/plan.js";
import type { EmittedPlan } from "../phases/4-emit/index.js";

let counter = 0;

/**
 * `dir` is where the plan's sourceDir was computed from (EmitOptions.outDir). With `keep`, the
 * files stay until `dispose()` (worker threads import the module again by its URL).
 */
export async function loadEmitted(emitted: EmittedPlan, dir: string, keep = false): Promise<{ mod: PlanModule; moduleUrl: string; dispose(): void }> {
  const runDir = join(dir, `run-${Date.now()}-${process.pid}-${counter++}`);
  const path = join(runDir, `${emitted.baseName}.mjs`);
  mkdirSync(runDir, { recursive: true });
  try {
    writeFileSync(path, emitted.js);
    for (const f of emitted.files) {
      mkdirSync(dirname(join(runDir, f.path)), { recursive: true });
      writeFileSync(join(runDir, f.path), f.text);
    }
    const moduleUrl = pathToFileURL(path).href;
    const mod = (await import(moduleUrl)) as PlanModule;
    // Loaded: the files are no longer needed (unless kept), and runs would otherwise pile them up.
    if (!keep) dispose();
    return { mod, moduleUrl, dispose };
  } catch (e) {
    dispose();
    throw e;
  }

  function dispose(): void {
    rmSync(runDir, { recursive: true, force: true });
  }
}
