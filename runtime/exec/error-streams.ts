// Error routing (`source s: T = file(..., errors: bad)`): the bad records of a source become the
// records of another source node, `bad`, whose reader hands them out as they are reported and ends
// when the source they come from has ended. The plan names it as connector `errors` with the
// origin's name in `args.source`.
import type { BadRecord, SourceReader } from "../connectors/api.js";

/** The connector type of an error stream's source node. */
export const ERRORS_CONNECTOR = "errors";

/** What an error stream's records look like: one bad record each. */
export interface ErrorRecord {
  source: string;
  origin: string;
  line: number;
  message: string;
  text: string;
}

export class ErrorStreamReader implements SourceReader {
  private queue: ErrorRecord[] = [];
  private ended = false;
  private wake: (() => void) | null = null;

  push(bad: BadRecord): void {
    if (this.ended) return;
    this.queue.push({ source: bad.source, origin: bad.origin, line: bad.line, message: bad.message, text: bad.text });
    this.notify();
  }

  /** The origin source ended (or never runs here): hand out what is queued, then end. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  async next(): Promise<unknown[] | undefined> {
    while (this.queue.length === 0 && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
    if (this.queue.length === 0) return undefined;
    const batch = this.queue;
    this.queue = [];
    return batch;
  }

  async close(): Promise<void> {
    this.end();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
