// The socket connector: a TCP client, like Spark's socketTextStream (people run `nc -lk 9999`).
// As a source it reads UTF-8 lines until the peer closes, which ends the input: a string element
// type takes each line as it is, any other type reads each line as JSON (as a jsonl file would).
// As a sink it writes one line per record, strings as they are and other values as JSON.
import { once } from "node:events";
import * as net from "node:net";
import type { SourceLoc } from "../plan.js";
import type { SinkConnector, SourceConnector } from "./api.js";
import { ConnectorError } from "./api.js";
import { ConnectorArgs } from "./args.js";
import { errorCode, reason } from "./system-errors.js";
import { openTextSink } from "./text-sink.js";
import { openTextSource, type TextPosition } from "./text-source.js";
import { SocketWal } from "../checkpoint/socket-wal.js";

async function connect(host: string, port: number, loc: SourceLoc): Promise<net.Socket> {
  const socket = net.connect({ host, port });
  try {
    await once(socket, "connect");
  } catch (e) {
    socket.destroy();
    const hint = errorCode(e) === "ECONNREFUSED" ? `start a server first, for example \`nc -lk ${port}\`` : undefined;
    throw new ConnectorError(`cannot connect to ${host}:${port}: ${reason(e)}`, loc, hint);
  }
  return socket;
}

export const socketSource: SourceConnector = {
  kind: "source",
  async open(spec, ctx) {
    const args = new ConnectorArgs(spec);
    const [host, port] = [args.string("host"), args.int("port")];
    const socket = await connect(host, port, ctx.loc);
    const opts = {
      format: (ctx.elementType.kind === "string" ? "lines" : "jsonl") as "lines" | "jsonl",
      origin: `socket ${host}:${port}`,
      eager: true,
      readError: (e: unknown) => new ConnectorError(`the connection to ${host}:${port} failed: ${reason(e)}`, ctx.loc),
    };
    if (ctx.stateDir === undefined) return openTextSource(socket, ctx, opts);
    // Checkpointed: through the write-ahead log, so that what was received can be replayed.
    const resume = ctx.resume as TextPosition | undefined;
    const wal = new SocketWal(ctx.stateDir, socket, resume !== undefined);
    const reader = openTextSource(wal.stream(resume?.offset ?? 0), ctx, { ...opts, ...(resume ? { resume } : {}) });
    return {
      next: () => reader.next(),
      position: () => {
        wal.sync();
        return reader.position!();
      },
      idle: () => reader.idle!(),
      close: async () => {
        await reader.close();
        wal.close();
      },
    };
  },
};

export const socketSink: SinkConnector = {
  kind: "sink",
  async open(spec, ctx) {
    const args = new ConnectorArgs(spec);
    const [host, port] = [args.string("host"), args.int("port")];
    const socket = await connect(host, port, ctx.loc);
    // Whatever the peer sends is discarded; reading it is what notices that the peer has closed.
    socket.resume();
    const writer = openTextSink(socket, {
      format: "lines",
      type: ctx.elementType,
      header: false,
      end: true,
      writeError: (e) => new ConnectorError(`cannot write to ${host}:${port}: ${reason(e)}`, ctx.loc),
    });
    return {
      write: (records) => writer.write(records),
      ready: () => writer.ready(),
      close: () => writer.close().finally(() => socket.destroy()),
    };
  },
};
