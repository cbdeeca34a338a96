// Bad records reported once: a record replayed after recovery (its source restarts at the last
// checkpoint's offset) is counted again but not shown again. Each shown record is appended to a log
// in the state directory before it is shown; a restarted job (any worker, on the cluster: the log is
// in the shared state directory) reads it back and skips what is in it.
import { appendFileSync, readFileSync, rmSync } from "node:fs";
import type { BadRecord } from "../connectors/api.js";

export const BAD_RECORDS_LOG = "bad-records.log";

export class ReportedBadRecords {
  private constructor(
    private readonly file: string,
    private readonly seen: Set<string>,
  ) {}

  /** The records reported before a crash (`resume`), or a fresh log. */
  static open(file: string, resume: boolean): ReportedBadRecords {
    const seen = new Set<string>();
    if (resume) {
      try {
        for (const line of readFileSync(file, "utf8").split("\n")) if (line) seen.add(line);
      } catch {
        // Nothing was reported before.
      }
    } else rmSync(file, { force: true });
    return new ReportedBadRecords(file, seen);
  }

  /** Whether to show this record: false when it was shown before the crash. */
  first(bad: BadRecord): boolean {
    const id = `${bad.source}\t${bad.origin}\t${bad.line}`;
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    try {
      appendFileSync(this.file, id + "\n");
    } catch {
      // Reporting goes on; only the de-duplication after a crash is lost.
    }
    return true;
  }
}
