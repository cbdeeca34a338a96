// Standard input as a source and standard output as a sink, in the same formats as files. Both
// streams belong to the process: the source leaves stdin open and the sink never ends stdout.
import type { SinkConnector, SourceConnector } from "./api.js";
import { ConnectorError } from "./api.js";
import { ConnectorArgs } from "./args.js";
import { reason } from "./system-errors.js";
import { openTextSink } from "./text-sink.js";
import { openTextSource } from "./text-source.js";

export const stdinSource: SourceConnector = {
  kind: "source",
  async open(spec, ctx) {
    const format = new ConnectorArgs(spec).format();
    return openTextSource(ctx.stdin, ctx, {
      format,
      origin: "stdin",
      // Someone may be typing: hand each line on as it arrives.
      eager: true,
      keepOpen: true,
      readError: (e) => new ConnectorError(`cannot read stdin: ${reason(e)}`, ctx.loc),
    });
  },
};

export const stdoutSink: SinkConnector = {
  kind: "sink",
  async open(spec, ctx) {
    const format = new ConnectorArgs(spec).format();
    // The plan gives stdout a single instance; should it ever have several, one csv header is enough.
    return openTextSink(ctx.stdout, {
      format,
      type: ctx.elementType,
      header: ctx.partition === 0,
      end: false,
      quietOnClosedPipe: true,
      writeError: (e) => new ConnectorError(`cannot write to stdout: ${reason(e)}`, ctx.loc),
    });
  },
};
