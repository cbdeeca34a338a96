// Checkpointing for `flowc run` (embedded mode): opens the state directory, restores from the last
// intact completed checkpoint (committing its staged sink output again, removing every other staged
// segment), hands the job a coordinator, and after a normal end publishes the last output and
// clears the state directory, so that the next run starts fresh.
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import * as path from "node:path";
import type { BadRecord } from "../connectors/api.js";
import type { Job, RunOptions } from "../exec/job.js";
import { JobError } from "../exec/job.js";
import type { OperatorState } from "../operators/operator.js";
import type { ExecutionPlan } from "../plan.js";
import { BAD_RECORDS_LOG, ReportedBadRecords } from "./bad-records.js";
import { CheckpointCoordinator, type CheckpointStats } from "./coordinator.js";
import { commitStagedOutput, stagedSegments } from "./staged-file-sink.js";
import { checkSavepointFits, loadSavepoint, SavepointError } from "./savepoint.js";
import { CheckpointStore, type LoadedCheckpoint } from "./store.js";

export interface CheckpointSettings {
  intervalMs: number;
  stateDir: string;
  /** Completed checkpoints kept (default 3). */
  retain: number;
  /** Declined checkpoints in a row that fail the job (default 3). */
  maxDeclines: number;
  /** A checkpoint not complete after this long is declined (default: max(30 s, 10 intervals)). */
  timeoutMs?: number;
  /** A savepoint directory to start from, instead of the state directory's latest checkpoint. */
  from?: string;
}

export const DEFAULT_RETAIN = 3;
export const DEFAULT_MAX_DECLINES = 3;

/** The default state directory: `.flow-state/<pipeline>` next to the .flow file. */
export function defaultStateDir(baseDir: string, pipeline: string): string {
  return path.join(baseDir, ".flow-state", pipeline);
}

export function planHash(plan: ExecutionPlan): string {
  return createHash("sha256").update(JSON.stringify({ nodes: plan.nodes, keyGroups: plan.config.keyGroups })).digest("hex");
}

export class EmbeddedCheckpoints {
  private constructor(
    readonly coordinator: CheckpointCoordinator,
    private readonly store: CheckpointStore,
    readonly restore: OperatorState[] | undefined,
    private readonly reported: ReportedBadRecords,
  ) {}

  get stats(): CheckpointStats {
    return this.coordinator.stats;
  }

  /**
   * Recovers (if there is a checkpoint) and prepares the coordinator. `baseDir` resolves the plan's
   * file sinks. Rejects with JobError when the checkpoint belongs to another pipeline.
   */
  static async open(plan: ExecutionPlan, baseDir: string, partitions: number, settings: CheckpointSettings, warn: (m: string) => void): Promise<EmbeddedCheckpoints> {
    const store = new CheckpointStore(settings.stateDir);
    const hash = planHash(plan);
    let loaded: LoadedCheckpoint | undefined;
    if (settings.from) {
      try {
        const sp = await loadSavepoint(settings.from);
        checkSavepointFits(settings.from, sp.info, plan.name, hash, plan.config.keyGroups);
        loaded = sp.loaded;
      } catch (e) {
        if (e instanceof SavepointError) throw new JobError(e.message, undefined, "take a savepoint of this pipeline with `flowc savepoint FILE.flow`");
        throw e;
      }
      // The state directory's own checkpoints are of the run being replaced: the savepoint wins.
      await store.clear();
    }
    mkdirSync(settings.stateDir, { recursive: true });
    if (!settings.from) loaded = await store.load(warn);
    if (loaded && !settings.from && loaded.manifest.planHash !== hash) {
      throw new JobError(
        `the state directory ${settings.stateDir} holds a checkpoint of another version of pipeline \`${loaded.manifest.pipeline}\``,
        undefined,
        "delete the state directory to start from the beginning, or pass another --state-dir",
      );
    }
    const sinkDirs = fileSinkDirs(plan, baseDir);
    if (loaded) {
      // The checkpoint completed, so its output is published; again, in case the crash came first.
      // From a savepoint this also rewinds the output to it (only files this plan writes).
      for (const s of loaded.manifest.sinks) {
        if (settings.from && !sinkDirs.includes(path.dirname(s.staged.file))) continue;
        try {
          await commitStagedOutput(s.staged, loaded.manifest.id);
        } catch (e) {
          throw new JobError(`cannot restore the output ${s.staged.file} to checkpoint ${loaded.manifest.id}: ${(e as Error).message}`, undefined, "the output was changed or deleted after the checkpoint; write to another directory, or start without it");
        }
      }
    }
    // Every other staged segment belongs to a checkpoint that never completed.
    for (const dir of sinkDirs) for (const f of await stagedSegments(dir)) await rm(f, { force: true });
    const reported = ReportedBadRecords.open(path.join(settings.stateDir, BAD_RECORDS_LOG), loaded !== undefined && !settings.from);
    const coordinator = new CheckpointCoordinator(store, {
      intervalMs: settings.intervalMs,
      retain: settings.retain,
      maxDeclines: settings.maxDeclines,
      ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
      pipeline: plan.name,
      planHash: hash,
      partitions,
      keyGroups: plan.config.keyGroups,
      ...(loaded ? { resumed: loaded.manifest } : {}),
      warn,
    });
    return new EmbeddedCheckpoints(coordinator, store, loaded?.states, reported);
  }

  /** The job's options for checkpointing. */
  runOptions(): Pick<RunOptions, "checkpoint" | "restore"> {
    return { checkpoint: this.coordinator, ...(this.restore ? { restore: this.restore } : {}) };
  }

  /**
   * Whether to show a bad record: each is shown once over a crash and the re-run that replays its
   * line (the log is written before the record is shown).
   */
  firstReport(bad: BadRecord): boolean {
    return this.reported.first(bad);
  }

  /** After run() resolved: the last checkpoint's commit, the final commit, then nothing to resume. */
  async finish(job: Job): Promise<void> {
    await this.coordinator.stop();
    await job.commit();
    await this.store.clear();
  }

  /** After the job failed: no new checkpoint; the state directory stays for the next run. */
  async abandon(): Promise<void> {
    await this.coordinator.stop();
  }
}

function fileSinkDirs(plan: ExecutionPlan, baseDir: string): string[] {
  return plan.nodes.flatMap((n) => (n.kind === "sink" && n.connector.type === "file" && typeof n.connector.args.path === "string" ? [path.resolve(baseDir, n.connector.args.path)] : []));
}
