// The state directory of a checkpointed job (embedded mode):
//
//   <state-dir>/latest                 {"id", "manifestSha256"}: the last completed checkpoint,
//                                      replaced atomically (written to latest.tmp, then renamed)
//   <state-dir>/chk-<id>/manifest.json what the checkpoint holds, with a sha256 per state file
//   <state-dir>/chk-<id>/manifest.sha256
//   <state-dir>/chk-<id>/<node>.<partition>.json   one task's operator state, entries per key group
//
// A checkpoint is used only when its manifest and every state file match their checksums; a
// truncated or corrupt latest checkpoint is skipped (with a warning) for the newest older one.
import { createHash } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, rmdir } from "node:fs/promises";
import * as path from "node:path";
import type { SourcePosition, StagedOutput } from "../connectors/api.js";
import { stateChunks, type OperatorState } from "../operators/operator.js";
import { checkWrite } from "./test-hooks.js";

export const MANIFEST_VERSION = 1;

export interface Manifest {
  version: typeof MANIFEST_VERSION;
  id: number;
  pipeline: string;
  /** sha256 of the plan's graph: a checkpoint restores only into the pipeline that wrote it. */
  planHash: string;
  partitions: number;
  keyGroups: number;
  createdAt: string;
  tasks: { node: string; partition: number; file: string; sha256: string; bytes: number }[];
  sources: { node: string; partition: number; position: SourcePosition }[];
  sinks: { node: string; partition: number; staged: StagedOutput }[];
}

export interface TaskSnapshot {
  node: string;
  partition: number;
  state: OperatorState;
}

export interface LoadedCheckpoint {
  manifest: Manifest;
  states: OperatorState[];
}

export const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

const EMPTY = Buffer.alloc(0);

/**
 * Writes an operator's state as a JSON file and syncs it (through checkWrite, as writeDurably):
 * read, serialised, hashed and written in stretches of a few milliseconds, the records going on in
 * between; `slice` is told how long each stretch held the thread.
 */
export async function writeStateFile(file: string, state: OperatorState, slice: (ms: number) => void = () => {}): Promise<{ sha256: string; bytes: number }> {
  const chunks = await stateChunks(state, slice);
  checkWrite(file);
  const hash = createHash("sha256");
  let bytes = 0;
  const fh = await open(file, "w");
  try {
    for (let i = 0; i < chunks.length; i++) {
      const t0 = performance.now();
      const data = chunks[i]!;
      chunks[i] = EMPTY;
      hash.update(data);
      bytes += data.length;
      slice(performance.now() - t0);
      await fh.write(data);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return { sha256: hash.digest("hex"), bytes };
}

/** Writes a file and syncs it; every write into the state directory goes through here. */
export async function writeDurably(file: string, data: string): Promise<void> {
  checkWrite(file);
  const fh = await open(file, "w");
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class CheckpointStore {
  constructor(readonly dir: string) {}

  private chkDir(id: number): string {
    return path.join(this.dir, `chk-${id}`);
  }

  /**
   * Writes the state files and the manifest of checkpoint `id`; the checkpoint is not completed
   * until publish(). `stalled` is told how long each stretch of reading and serialising a task's
   * state kept the thread (ms); the records go on between stretches.
   */
  async write(meta: Omit<Manifest, "tasks" | "version" | "createdAt">, snapshots: TaskSnapshot[], stalled?: (ms: number) => void): Promise<string> {
    const dir = this.chkDir(meta.id);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const tasks: Manifest["tasks"] = [];
    for (const s of snapshots) {
      const file = `${s.node}.${s.partition}.json`;
      const written = await writeStateFile(path.join(dir, file), s.state, stalled);
      tasks.push({ node: s.node, partition: s.partition, file, ...written });
    }
    const manifest: Manifest = { version: MANIFEST_VERSION, ...meta, createdAt: new Date().toISOString(), tasks };
    const text = JSON.stringify(manifest, null, 1);
    await writeDurably(path.join(dir, "manifest.json"), text);
    const digest = sha256(text);
    await writeDurably(path.join(dir, "manifest.sha256"), digest + "\n");
    return digest;
  }

  /** Makes `id` the last completed checkpoint: write latest.tmp, sync, rename over latest. */
  async publish(id: number, manifestSha256: string): Promise<void> {
    const tmp = path.join(this.dir, "latest.tmp");
    await writeDurably(tmp, JSON.stringify({ id, manifestSha256 }) + "\n");
    await rename(tmp, path.join(this.dir, "latest"));
    const d = await open(this.dir, "r");
    await d.sync().catch(() => {});
    await d.close();
  }

  async discard(id: number): Promise<void> {
    await rm(this.chkDir(id), { recursive: true, force: true });
  }

  private async ids(): Promise<number[]> {
    const entries = await readdir(this.dir).catch(() => [] as string[]);
    return entries.flatMap((e) => (/^chk-\d+$/.test(e) ? [Number(e.slice(4))] : [])).sort((a, b) => b - a);
  }

  /** Keeps the newest `keep` checkpoints up to `latest`, deletes older ones. */
  async prune(latest: number, keep: number): Promise<void> {
    const older = (await this.ids()).filter((id) => id <= latest);
    for (const id of older.slice(keep)) await this.discard(id);
  }

  /**
   * The last completed checkpoint that is intact, or undefined (a fresh start). Checkpoints newer
   * than `latest` were never completed and are deleted; a damaged one is reported through `warn`.
   */
  async load(warn: (message: string) => void): Promise<LoadedCheckpoint | undefined> {
    const pointer = await this.pointer();
    for (const id of await this.ids()) if (pointer === undefined || id > pointer.id) await this.discard(id);
    if (pointer === undefined) return undefined;
    const found = await this.latestIntact(warn);
    if (!found) warn(`no intact checkpoint is left in ${this.dir}: starting from the beginning`);
    return found?.loaded;
  }

  private async pointer(): Promise<{ id: number; manifestSha256: string } | undefined> {
    try {
      return JSON.parse(await readFile(path.join(this.dir, "latest"), "utf8"));
    } catch {
      return undefined;
    }
  }

  /**
   * The last completed checkpoint that is intact, with its directory, changing nothing (a running
   * job may own the directory: this is how a savepoint reads it).
   */
  async latestIntact(warn: (message: string) => void): Promise<{ loaded: LoadedCheckpoint; dir: string } | undefined> {
    const pointer = await this.pointer();
    if (pointer === undefined) return undefined;
    for (const id of (await this.ids()).filter((x) => x <= pointer.id)) {
      const problem = await this.verify(id, id === pointer.id ? pointer.manifestSha256 : undefined);
      if (typeof problem !== "string") {
        if (id !== pointer.id) warn(`using checkpoint ${id} instead`);
        return { loaded: problem, dir: this.chkDir(id) };
      }
      warn(`checkpoint ${id} in ${this.dir} is damaged and will not be used: ${problem}`);
    }
    return undefined;
  }

  private verify(id: number, expected: string | undefined): Promise<LoadedCheckpoint | string> {
    return verifyCheckpoint(this.chkDir(id), "manifest.json", expected, id);
  }

  /**
   * After a job completed normally: nothing to resume, the next run starts fresh. What the directory
   * holds goes, then the directory itself unless it cannot be removed (a mount point: a file system
   * of its own for the state), which then stays, empty.
   */
  async clear(): Promise<void> {
    const entries = await readdir(this.dir).catch(() => [] as string[]);
    for (const e of entries) await rm(path.join(this.dir, e), { recursive: true, force: true });
    await rmdir(this.dir).catch(() => {});
  }
}

/**
 * Reads a checkpoint's manifest (`manifestFile` in `dir`) and every state file it names, checking
 * each against its sha256: the loaded checkpoint, or why it cannot be used. `expected` is the
 * manifest's own sha256 as the pointer recorded it (else manifest.sha256 next to it).
 */
export async function verifyCheckpoint(dir: string, manifestFile: string, expected: string | undefined, id?: number): Promise<LoadedCheckpoint | string> {
  try {
    const text = await readFile(path.join(dir, manifestFile), "utf8");
    const digest = sha256(text);
    const recorded = expected ?? (await readFile(path.join(dir, "manifest.sha256"), "utf8")).trim();
    if (digest !== recorded) return "the manifest does not match its checksum";
    const manifest = JSON.parse(text) as Manifest;
    if (manifest.version !== MANIFEST_VERSION || (id !== undefined && manifest.id !== id)) return "the manifest is of another version";
    const states: OperatorState[] = [];
    for (const t of manifest.tasks) {
      const data = await readFile(path.join(dir, t.file)).catch(() => undefined);
      if (data === undefined) return `${t.file} is missing`;
      if (sha256(data) !== t.sha256) return `${t.file} does not match its checksum (truncated or corrupt)`;
      states.push(JSON.parse(data.toString("utf8")) as OperatorState);
    }
    return { manifest, states };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT" && err.path) return `${path.basename(err.path)} is missing`;
    return err.message;
  }
}
