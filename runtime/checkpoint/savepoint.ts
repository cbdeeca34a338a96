// Savepoints: a completed checkpoint copied out of the state directory into a directory of its own,
// which retention never deletes and from which a job starts again (`flowc run | submit --from`).
//
//   <savepoint>/savepoint.json    what it is: pipeline, graph hash, checkpoint id, partitions
//   <savepoint>/manifest.json     the checkpoint's manifest, unchanged
//   <savepoint>/manifest.sha256
//   <savepoint>/<node>.<p>.json   the state files the manifest names, checked against their sha256
//
// The copy is written to a temporary directory beside the target, verified, then renamed into
// place, so a savepoint directory is either whole or absent. A savepoint restores into a pipeline
// with the same graph (the graph hash, which ignores partitions: a savepoint rescales like a
// checkpoint does).
import { copyFile, mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import * as path from "node:path";
import { verifyCheckpoint, writeDurably, type LoadedCheckpoint } from "./store.js";

export const SAVEPOINT_FORMAT = "flow-savepoint";

export interface SavepointInfo {
  format: typeof SAVEPOINT_FORMAT;
  version: 1;
  pipeline: string;
  /** The graph hash of the plan that wrote it (planHash in embedded.ts). */
  graphHash: string;
  checkpoint: number;
  partitions: number;
  keyGroups: number;
  createdAt: string;
  /** Where it was taken from: a state directory, or `cluster job NAME`. */
  takenFrom: string;
}

/** A user mistake about a savepoint: shown as a message, never with a stack. */
export class SavepointError extends Error {}

/**
 * Copies the completed checkpoint in `checkpointDir` (its manifest is `manifestFile` there, with
 * sha256 `manifestSha256`) to `target`, which must not exist yet.
 */
export async function writeSavepoint(
  checkpointDir: string,
  manifestFile: string,
  manifestSha256: string | undefined,
  target: string,
  about: { graphHash: string; takenFrom: string },
): Promise<SavepointInfo> {
  if (await stat(target).then(() => true, () => false)) throw new SavepointError(`${target} already exists: a savepoint goes into a new directory`);
  const source = await verifyCheckpoint(checkpointDir, manifestFile, manifestSha256);
  if (typeof source === "string") throw new SavepointError(`the checkpoint in ${checkpointDir} cannot be copied: ${source}`);
  const m = source.manifest;
  const tmp = `${target}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await copyFile(path.join(checkpointDir, manifestFile), path.join(tmp, "manifest.json"));
    for (const t of m.tasks) await copyFile(path.join(checkpointDir, t.file), path.join(tmp, t.file));
    const digest = manifestSha256 ?? (await readFile(path.join(checkpointDir, "manifest.sha256"), "utf8")).trim();
    await writeDurably(path.join(tmp, "manifest.sha256"), digest + "\n");
    const info: SavepointInfo = {
      format: SAVEPOINT_FORMAT,
      version: 1,
      pipeline: m.pipeline,
      graphHash: about.graphHash,
      checkpoint: m.id,
      partitions: m.partitions,
      keyGroups: m.keyGroups,
      createdAt: new Date().toISOString(),
      takenFrom: about.takenFrom,
    };
    await writeDurably(path.join(tmp, "savepoint.json"), JSON.stringify(info, null, 1) + "\n");
    // The checkpoint may have been pruned while it was copied: only an intact copy is kept.
    const copy = await verifyCheckpoint(tmp, "manifest.json", digest);
    if (typeof copy === "string") throw new SavepointError(`the copy of checkpoint ${m.id} is not intact (${copy}); the job may have deleted it meanwhile: try again`);
    await rename(tmp, target);
    return info;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (e instanceof SavepointError) throw e;
    if ((e as NodeJS.ErrnoException).code === "ENOENT" && (e as NodeJS.ErrnoException).path?.startsWith(checkpointDir)) {
      throw new SavepointError(`checkpoint ${m.id} was deleted while it was copied (the job moved on to newer ones): try again`);
    }
    throw new SavepointError(`cannot write the savepoint to ${target}: ${(e as Error).message}`);
  }
}

/** Reads and verifies a savepoint; SavepointError says what is wrong with it. */
export async function loadSavepoint(dir: string): Promise<{ info: SavepointInfo; loaded: LoadedCheckpoint }> {
  let info: SavepointInfo;
  try {
    info = JSON.parse(await readFile(path.join(dir, "savepoint.json"), "utf8")) as SavepointInfo;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new SavepointError(`${dir} is not a savepoint: it has no savepoint.json`);
    throw new SavepointError(`cannot read the savepoint ${dir}: ${(e as Error).message}`);
  }
  if (info?.format !== SAVEPOINT_FORMAT || info.version !== 1) throw new SavepointError(`${dir} is not a savepoint of this version of Flow`);
  const loaded = await verifyCheckpoint(dir, "manifest.json", undefined, info.checkpoint);
  if (typeof loaded === "string") throw new SavepointError(`the savepoint ${dir} is damaged and cannot be used: ${loaded}`);
  return { info, loaded };
}

/** Refuses a savepoint of another pipeline, or of another graph of the same one. */
export function checkSavepointFits(dir: string, info: SavepointInfo, pipeline: string, graphHash: string, keyGroups: number): void {
  if (info.pipeline !== pipeline) throw new SavepointError(`the savepoint ${dir} is of pipeline \`${info.pipeline}\`, not \`${pipeline}\``);
  if (info.graphHash !== graphHash || info.keyGroups !== keyGroups) {
    throw new SavepointError(`the savepoint ${dir} was taken from another version of pipeline \`${pipeline}\` (its operators differ), so its state cannot be restored into this one`);
  }
}
