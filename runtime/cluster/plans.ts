// Where a submitted job's compiled plan lives: a file in the plans directory (shared storage when
// workers run on several hosts), named by its content hash. ZooKeeper holds only the path and the
// hash; a worker verifies the hash before it runs anything.
import { createHash } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { PlanModule } from "../plan.js";

export function planHash(js: string): string {
  return createHash("sha256").update(js).digest("hex");
}

/** Stores the plan module's JavaScript; returns its path and hash. Idempotent. */
export async function storePlan(plansDir: string, jobName: string, js: string): Promise<{ path: string; hash: string }> {
  const hash = planHash(js);
  const dir = resolve(plansDir);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${jobName}-${hash.slice(0, 16)}.plan.mjs`);
  await writeFile(path, js);
  return { path, hash };
}

export class PlanIntegrityError extends Error {}

/** Loads a stored plan module after checking that its content still has the submitted hash. */
export async function loadPlan(path: string, hash: string): Promise<PlanModule> {
  let js: string;
  try {
    js = await readFile(path, "utf8");
  } catch (e) {
    throw new PlanIntegrityError(`cannot read the plan ${path}: ${(e as Error).message} (workers on several hosts need the plans directory on shared storage)`);
  }
  if (planHash(js) !== hash) throw new PlanIntegrityError(`the plan ${path} does not match the submitted plan (hash differs): refusing to run it`);
  return (await import(`${pathToFileURL(path).href}?h=${hash.slice(0, 16)}`)) as PlanModule;
}
