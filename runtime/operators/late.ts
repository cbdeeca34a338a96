// What an event-time operator does with late elements (timestamps behind its watermark): count
// and drop them, or, for a window with `late: NAME`, send them to its side output (the stream NAME).
import type { Output } from "../exec/output.js";
import type { OperatorContext } from "./operator.js";

export class LateElements {
  constructor(
    private readonly ctx: OperatorContext,
    /** Set when the late elements go to a stream. */
    readonly output: Output | undefined,
  ) {}

  handle(values: unknown[], times: number[]): void {
    if (values.length === 0) return;
    if (this.output) this.output.emit({ values, keys: null, times });
    else this.ctx.late?.(values.length);
  }
}
