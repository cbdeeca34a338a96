// Connector implementations by catalog name. Adding a connector: an entry in catalog.ts, a file in
// this folder, a line here (a test keeps this and the catalog in sync).
import type { SinkConnector, SourceConnector } from "./api.js";
import { fileSink, fileSource } from "./file.js";
import { generateSource } from "./generate.js";
import { socketSink, socketSource } from "./socket.js";
import { stdinSource, stdoutSink } from "./stdio.js";

export const SOURCES: Record<string, SourceConnector> = {
  file: fileSource,
  socket: socketSource,
  stdin: stdinSource,
  generate: generateSource,
};

export const SINKS: Record<string, SinkConnector> = {
  file: fileSink,
  socket: socketSink,
  stdout: stdoutSink,
};
