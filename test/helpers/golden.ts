// Golden files: compare `actual` with the file's content; UPDATE_GOLDEN=1 rewrites the file instead.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { expect } from "vitest";

export const updating = process.env.UPDATE_GOLDEN === "1";

export function expectGolden(path: string, actual: string): void {
  const text = actual.endsWith("\n") ? actual : actual + "\n";
  if (updating || !existsSync(path)) {
    if (!updating && process.env.CI) throw new Error(`golden file ${path} is missing (run with UPDATE_GOLDEN=1 and review it)`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    return;
  }
  expect(text, `golden file ${path} differs (UPDATE_GOLDEN=1 rewrites it; review the diff)`).toBe(readFileSync(path, "utf8"));
}
