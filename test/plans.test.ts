// Submitted plans are stored by content hash and verified before a worker runs them.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadPlan, PlanIntegrityError, storePlan } from "../runtime/cluster/plans.js";

describe("plan storage", () => {
  it("loads a stored plan and refuses one whose content changed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "flowc-plans-"));
    const js = "export const plan = { version: 1 }; export const functions = {};\n";
    const { path, hash } = await storePlan(dir, "job", js);
    expect(((await loadPlan(path, hash)).plan as { version: number }).version).toBe(1);
    writeFileSync(path, js.replace("1", "2"));
    await expect(loadPlan(path, hash)).rejects.toBeInstanceOf(PlanIntegrityError);
    await expect(loadPlan(join(dir, "missing.mjs"), hash)).rejects.toThrow(/shared storage/);
  });
});
