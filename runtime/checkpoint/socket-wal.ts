// The socket source's write-ahead log (checkpointed jobs only). A socket cannot replay, so every
// chunk is appended to `<state>/wal` the moment it arrives, before any record of it is processed;
// the source reads its lines back from the log. Positions in checkpoints are byte offsets and line
// numbers in the log, so after a crash the re-run replays the log from the checkpoint's position and
// then goes on with what the new connection brings: exactly-once for everything that was received.
// The log is synced at every barrier (position()); it grows until the job completes, which clears it.
// Receiving is no longer paced by processing: a fast sender fills the log, not memory.
import { closeSync, fdatasyncSync, mkdirSync, openSync, readSync, writeSync } from "node:fs";
import type { Socket } from "node:net";
import * as path from "node:path";
import { Readable } from "node:stream";

export class SocketWal {
  private readonly fd: number;
  private size: number;
  private ended = false;
  private error: unknown;
  private wake: (() => void) | null = null;
  private closed = false;

  /** Opens the log: kept when resuming (replayed from `from`), emptied for a fresh start. */
  constructor(
    dir: string,
    private readonly socket: Socket,
    resuming: boolean,
  ) {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, "wal");
    this.fd = openSync(file, resuming ? "a+" : "w+");
    this.size = resuming ? size(this.fd) : 0;
    socket.on("data", (chunk: Buffer) => {
      if (this.closed) return;
      writeSync(this.fd, chunk);
      this.size += chunk.length;
      this.notify();
    });
    socket.on("end", () => {
      this.ended = true;
      this.notify();
    });
    socket.on("close", () => {
      this.ended = true;
      this.notify();
    });
    socket.on("error", (e) => {
      this.error = e;
      this.notify();
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Makes what was received so far durable (at a barrier, before its position is recorded). */
  sync(): void {
    if (!this.closed) fdatasyncSync(this.fd);
  }

  /** The log from byte `from` on: what is already in it, then what arrives, until the peer closes. */
  stream(from: number): Readable {
    const self = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      let at = from;
      const buf = Buffer.allocUnsafe(1 << 16);
      try {
        for (;;) {
          if (self.closed) return;
          if (at < self.size) {
            const n = readSync(self.fd, buf, 0, Math.min(buf.length, self.size - at), at);
            at += n;
            yield Buffer.from(buf.subarray(0, n));
            continue;
          }
          if (self.error) throw self.error;
          if (self.ended) return;
          await new Promise<void>((r) => (self.wake = r));
        }
      } finally {
        self.close();
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ended = true;
    this.notify();
    this.socket.destroy();
    closeSync(this.fd);
  }
}

function size(fd: number): number {
  let n = 0;
  const buf = Buffer.allocUnsafe(1 << 16);
  for (;;) {
    const r = readSync(fd, buf, 0, buf.length, n);
    if (r === 0) return n;
    n += r;
  }
}
