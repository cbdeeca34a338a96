// Vitest global setup: every test file (and every process a test starts) makes its temporary
// directories under one directory of this run, which is removed when the run ends, so that a test
// that fails before its own cleanup (or one without) leaves nothing in the system's temp directory.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "flowc-test-run-"));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    rmSync(root, { recursive: true, force: true });
  };
}
