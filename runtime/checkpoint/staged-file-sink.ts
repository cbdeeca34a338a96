// The file sink's two-phase commit for checkpointed jobs. A partition writes its records into a
// staged segment file, `.part-<p>.<ext>.ckpt-after-<m>` (m: the barrier that opened it). At barrier
// n (pre-commit) the segment is closed, synced and remembered, and a new one opens for what follows.
// Once checkpoint n has completed, commit appends every staged segment up to n to `part-<p>.<ext>`
// and deletes it (the first one, while that file is empty, is renamed onto it instead). Each
// segment knows the published file's length before it (`start`), so a commit is idempotent: write
// its bytes at `start` (in place), sync, delete; after a crash, recovery does it again
// from the checkpoint's manifest (commitStagedOutput) and truncates what a later, incomplete
// checkpoint may have appended. The cluster's attempt staging (`.part-<p>.<ext>.attempt-<n>`) is a
// different path (file.ts) and never meets this one.
import { createWriteStream, type WriteStream } from "node:fs";
import { open, readdir, rename, rm, stat, truncate, writeFile } from "node:fs/promises";
import * as path from "node:path";
import type { ConnectorError, SinkStaging, SinkWriter, StagedOutput } from "../connectors/api.js";
import type { TextFormat } from "../connectors/args.js";
import { openTextSink } from "../connectors/text-sink.js";
import type { FlowType } from "../types.js";
import { crashPoint, slowSinkMs } from "./test-hooks.js";

export interface StagedSinkOptions {
  format: TextFormat;
  type: FlowType;
  writeError(file: string, error: unknown): ConnectorError;
}

interface Segment {
  /** The barrier that closed it; Infinity for the last one, closed at the end of the job. */
  id: number;
  file: string;
  start: number;
  length: number;
}

interface OpenSegment {
  name: string;
  stream: WriteStream;
  writer: SinkWriter;
}

export const SEGMENT = /^\.part-\d+\.(txt|csv|jsonl)\.ckpt-after-\d+(\.e\d+)?$/;

export async function openStagedFileSink(dir: string, final: string, staging: SinkStaging, opts: StagedSinkOptions): Promise<SinkWriter> {
  const published = path.join(dir, final);
  if (staging.resumed) {
    // Recovery has truncated it to the checkpoint's committed length; a new partition starts empty.
    await writeFile(published, "", { flag: "a" });
  } else {
    await writeFile(published, "");
  }
  // Staged segments of runs that never completed a checkpoint (recovery removed the others).
  for (const entry of await readdir(dir)) {
    if (entry.startsWith(`.${final}.ckpt-`)) await rm(path.join(dir, entry), { force: true });
  }
  const length = (await stat(published)).size;
  return new StagedFileWriter(dir, final, length, staging, opts);
}

class StagedFileWriter implements SinkWriter {
  private current: OpenSegment | null = null;
  private after: number;
  /** Closed segments not committed yet, oldest first. */
  private readonly staged: Segment[] = [];
  /** The published file's length once every staged segment is appended. */
  private length: number;
  /** Pre-commits and commits run one after the other, in barrier order. */
  private chain: Promise<unknown> = Promise.resolve();
  private error: ConnectorError | undefined;
  private readonly tag: string | undefined;
  /** The attempt was given up: nothing more is written or staged. */
  private discarded = false;
  /**
   * Segments opened and not staged yet: the open one, and any whose staging failed (recovery on
   * another worker removed its file while this attempt was frozen); discard() removes them all.
   */
  private readonly unstaged = new Set<OpenSegment>();
  /** FLOW_TEST_SLOW_SINK, read once (ready() runs after every batch). */
  private readonly slowMs = slowSinkMs();

  constructor(
    private readonly dir: string,
    private readonly final: string,
    length: number,
    staging: SinkStaging,
    private readonly opts: StagedSinkOptions,
  ) {
    this.length = length;
    this.after = staging.after;
    this.tag = staging.tag;
    // A fresh csv file gets its header in its first segment, even when no record follows.
    if (!staging.resumed && opts.format === "csv") this.open(true);
  }

  private open(header: boolean): OpenSegment {
    const name = `.${this.final}.ckpt-after-${this.after}${this.tag ? `.${this.tag}` : ""}`;
    const stream = createWriteStream(path.join(this.dir, name));
    const writer = openTextSink(stream, { format: this.opts.format, type: this.opts.type, header, end: true, writeError: (e) => this.opts.writeError(name, e) });
    const seg = { name, stream, writer };
    this.unstaged.add(seg);
    return (this.current = seg);
  }

  write(records: readonly unknown[]): void {
    if (records.length === 0 || this.discarded) return;
    (this.current ?? this.open(false)).writer.write(records);
  }

  ready(): Promise<void> | undefined {
    if (this.error) return Promise.reject(this.error);
    if (this.slowMs > 0 && this.current) return new Promise((r) => setTimeout(r, this.slowMs));
    return this.current?.writer.ready();
  }

  /** Closes a segment (if any) and stages it under `id`; runs in the chain, after the earlier ones. */
  private async stage(seg: OpenSegment | null, id: number): Promise<void> {
    if (!seg) return;
    {
      await seg.writer.close();
      const file = path.join(this.dir, seg.name);
      const fh = await open(file, "r+");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      const length = seg.stream.bytesWritten;
      this.staged.push({ id, file, start: this.length, length });
      this.unstaged.delete(seg);
      this.length += length;
    }
  }

  preCommit(id: number): Promise<StagedOutput> {
    const seg = this.current;
    this.current = null;
    this.after = id;
    const done: Promise<StagedOutput> = this.chain.then(() => this.stage(seg, id)).then(() => {
      // A sink that has ended (its input did, while other pipelines of the job go on): its last
      // segment, staged by close(), belongs to this checkpoint.
      for (const s of this.staged) if (s.id === Infinity) s.id = id;
    }).then(() => ({
      file: path.join(this.dir, this.final),
      segments: this.staged.filter((s) => s.id <= id).map(({ file, start, length }) => ({ file, start, length })),
      length: this.length,
    }));
    this.chain = done;
    done.catch((e) => (this.error ??= e));
    return done;
  }

  commitCheckpoint(id: number): Promise<void> {
    const done: Promise<void> = this.chain.then(async () => {
      while (this.staged.length > 0 && this.staged[0]!.id <= id) {
        const s = this.staged[0]!;
        await commitSegment(path.join(this.dir, this.final), s, id);
        this.staged.shift();
      }
    });
    this.chain = done;
    return done;
  }

  async close(): Promise<void> {
    // The last segment is staged, not published: commit() publishes it once the job has ended.
    const seg = this.current;
    this.current = null;
    await (this.chain = this.chain.then(() => this.stage(seg, Infinity)));
    if (this.error) throw this.error;
  }

  commit(): Promise<void> {
    return this.commitCheckpoint(Infinity);
  }

  async discard(): Promise<void> {
    // The open segment, and the last one close() staged (no checkpoint holds it). Segments staged
    // for a checkpoint stay: it may have completed, and recovery commits them again.
    this.discarded = true;
    const seg = this.current;
    this.current = null;
    if (seg) await this.remove(seg);
    await this.chain.catch(() => {});
    // A failed step of the chain skipped the staging of the ones after it.
    for (const s of [...this.unstaged]) await this.remove(s);
    for (const s of this.staged.filter((x) => x.id === Infinity)) await rm(s.file, { force: true }).catch(() => {});
  }

  private async remove(seg: OpenSegment): Promise<void> {
    this.unstaged.delete(seg);
    seg.stream.destroy();
    // A stream still opening creates its file after destroy(): remove it only once it is closed.
    if (!seg.stream.closed) await new Promise<void>((r) => seg.stream.once("close", () => r()));
    await rm(path.join(this.dir, seg.name), { force: true }).catch(() => {});
  }

  async discardStaged(after = -Infinity): Promise<void> {
    await this.discard();
    for (const s of this.staged.filter((x) => x.id > after)) await rm(s.file, { force: true }).catch(() => {});
    this.staged.splice(0, this.staged.length, ...this.staged.filter((x) => x.id <= after));
  }
}

/**
 * Writes one staged segment at `start` of the published file and deletes it; again after a crash,
 * to the same result. The bytes are written in place, never truncated first: a zombie (an attempt
 * frozen after its fence check, resumed after a newer epoch went on) that commits a segment late
 * rewrites the same bytes at the same offsets and cuts nothing off what was published since.
 */
async function commitSegment(published: string, s: { file: string; start: number; length: number }, checkpoint: number): Promise<void> {
  const size = await stat(s.file).then((x) => x.size, () => -1);
  if (size < 0) {
    // Committed earlier (the segment is deleted only after the append was synced).
    const have = await stat(published).then((x) => x.size, () => 0);
    if (have < s.start + s.length) throw new Error(`the staged output ${s.file} is missing and ${published} does not hold it`);
    return;
  }
  // The first segment of a published file that is still empty becomes it: renamed, not copied (it
  // was synced when it was staged). A committer that loses this race finds the segment gone, as above;
  // one that comes later finds the published file no longer empty and the segment gone.
  if (s.start === 0 && (await stat(published).then((x) => x.size, () => -1)) === 0) {
    try {
      await rename(s.file, published);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      return commitSegment(published, s, checkpoint);
    }
    crashPoint("mid-commit", checkpoint);
    const d = await open(path.dirname(published), "r");
    try {
      await d.sync().catch(() => {});
    } finally {
      await d.close();
    }
    return;
  }
  // The segment is opened first: if another committer (a recovery racing a late commit) deletes it
  // meanwhile, this one still reads it, and both write the same bytes at the same offsets.
  let input;
  try {
    input = await open(s.file, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    return commitSegment(published, s, checkpoint);
  }
  let out;
  try {
    out = await open(published, "r+");
    const buf = Buffer.allocUnsafe(1 << 20);
    let at = 0;
    for (;;) {
      const { bytesRead } = await input.read(buf, 0, buf.length, at);
      if (bytesRead === 0) break;
      await out.write(buf, 0, bytesRead, s.start + at);
      at += bytesRead;
      crashPoint("mid-commit", checkpoint);
    }
    await out.sync();
  } finally {
    await input.close();
    await out?.close();
  }
  await rm(s.file, { force: true });
}

/** Recovery: commits a completed checkpoint's staged output again and cuts off anything after it. */
export async function commitStagedOutput(out: StagedOutput, checkpoint: number): Promise<void> {
  await writeFile(out.file, "", { flag: "a" });
  for (const s of out.segments) await commitSegment(out.file, s, checkpoint);
  await truncate(out.file, out.length);
}

/** Staged segments in a sink directory (left by a crashed run), for recovery to remove. */
export async function stagedSegments(dir: string): Promise<string[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  return entries.filter((e) => SEGMENT.test(e)).map((e) => path.join(dir, e));
}
