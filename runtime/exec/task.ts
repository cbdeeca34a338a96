// A task is one instance of a plan node: an input gate in front of an operator and an output
// behind it. The gate turns channel events into task events; the task forwards control events
// downstream after the operator has seen them, so they stay in order with the data.
import type { Operator, OperatorState } from "../operators/operator.js";
import type { PlanNode } from "../plan.js";
import { InputGate } from "./input-gate.js";
import type { Batch, ControlEvent } from "./messages.js";
import type { Output, Receiver } from "./output.js";

export interface TaskHooks {
  /** The barrier of checkpoint `id` passed this task; `state` is its operator's snapshot, taken in `pauseMs`. */
  onSnapshot(task: Task, id: number, state: OperatorState | undefined, pauseMs: number): void;
  /** The operator's snapshot threw: the checkpoint is declined, the job goes on. */
  onSnapshotFailed?(task: Task, id: number, error: unknown): void;
}

export class Task implements Receiver {
  gate: InputGate | null = null;
  recordsIn = 0;
  /** Settles once every input has ended and the operator has finished (async operators: resolved). */
  readonly finished: Promise<void>;
  private settle!: (done: Promise<void>) => void;

  constructor(
    readonly node: PlanNode,
    readonly partition: number,
    readonly operator: Operator,
    readonly output: Output,
    private readonly hooks: TaskHooks,
  ) {
    this.finished = new Promise<Promise<void>>((resolve) => (this.settle = resolve)).then((done) => done);
    // A failure is reported through the job's run(); never as an unhandled rejection here.
    this.finished.catch(() => {});
  }

  get name(): string {
    return `${this.node.id}#${this.partition}`;
  }

  /** Called once the number of input channels is known (after wiring). */
  openGate(channels: number): void {
    this.gate = new InputGate(channels, {
      onData: (batch, channel) => {
        this.recordsIn += batch.values.length;
        this.operator.process(batch, channel);
      },
      onWatermark: (time) => {
        this.operator.onWatermark(time);
        // An operator that makes its own watermarks (watermark) does not pass its input's on.
        if (!this.operator.ownsWatermarks) this.broadcast({ kind: "watermark", time });
      },
      onIdle: () => {
        if (!this.operator.ownsWatermarks) this.broadcast({ kind: "idle" });
      },
      onBarrier: (id) => {
        const t0 = performance.now();
        let state: OperatorState | undefined;
        try {
          state = this.operator.snapshot();
        } catch (e) {
          this.hooks.onSnapshotFailed?.(this, id, e);
          this.broadcast({ kind: "barrier", id });
          return;
        }
        this.hooks.onSnapshot(this, id, state, performance.now() - t0);
        this.broadcast({ kind: "barrier", id });
      },
      onEnd: () => this.finish(),
    });
  }

  /** Control events go to the main output and to the side output, if any. */
  private broadcast(event: ControlEvent): void {
    this.output.control(event);
    this.operator.lateOutput?.control(event);
  }

  receive(batch: Batch, channel: number): void {
    this.gate!.data(batch, channel);
  }

  control(event: ControlEvent, channel: number): void {
    this.gate!.control(event, channel);
  }

  /** For tasks without inputs (sources): end of their own stream. */
  finish(): void {
    let done: Promise<void>;
    try {
      done = Promise.resolve(this.operator.onEnd());
    } catch (e) {
      done = Promise.reject(e);
    }
    this.broadcast({ kind: "end" });
    this.settle(done);
  }
}
