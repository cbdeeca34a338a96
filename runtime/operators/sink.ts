// Hands batches to a connector's writer. When the writer's buffers are full it reports the wait to
// the job, which pauses its sources until the writer has drained (backpressure).
import type { SinkWriter, StagedOutput } from "../connectors/api.js";
import type { Batch } from "../exec/messages.js";
import type { Operator } from "./operator.js";

export class SinkOperator implements Operator {
  recordsWritten = 0;
  private closed = false;

  constructor(
    private readonly writer: SinkWriter,
    private readonly onPressure: (ready: Promise<void>) => void,
  ) {}

  process(batch: Batch): void {
    this.writer.write(batch.values);
    this.recordsWritten += batch.values.length;
    const ready = this.writer.ready();
    if (ready) this.onPressure(ready);
  }

  onWatermark(): void {}

  async onEnd(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.close();
  }

  async abort(): Promise<void> {
    await this.onEnd();
    await this.writer.discard?.();
  }

  /** Publishes staged output (cluster attempts); a no-op for sinks that write in place. */
  async commit(): Promise<void> {
    await this.writer.commit?.();
  }

  /** Checkpointing: stage what came before barrier `id`; undefined for sinks that write in place. */
  preCommit(id: number): Promise<StagedOutput> | undefined {
    return this.writer.preCommit?.(id);
  }

  /** Checkpointing: publish the staged output up to checkpoint `id`, which has completed. */
  async commitCheckpoint(id: number): Promise<void> {
    await this.writer.commitCheckpoint?.(id);
  }

  /** Checkpointing: the job ended for good (failed or cancelled); what is still staged is removed. */
  async discardStaged(after?: number): Promise<void> {
    await this.writer.discardStaged?.(after);
  }

  snapshot(): undefined {
    return undefined;
  }
  restore(): void {}
}
