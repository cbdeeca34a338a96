// The file connector. As a source it streams one file (lines, csv or jsonl) without reading it
// whole, reporting progress in bytes. As a sink its path is a directory: every partition writes
// its own `part-<partition>.<ext>` (txt for lines, csv, jsonl), replacing the previous run's. On a
// cluster (SinkContext.attempt set) a partition writes `.part-<p>.<ext>.attempt-<n>` and commit()
// renames it into place and removes every other attempt's staged file of that partition.
// A checkpointed embedded job (SinkContext.staging) stages per checkpoint instead and appends to
// the part file once each checkpoint completes (checkpoint/staged-file-sink.ts); when it resumes,
// the part files committed so far are kept.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { once } from "node:events";
import * as path from "node:path";
import type { SinkConnector, SinkContext, SourceConnector } from "./api.js";
import { ConnectorError } from "./api.js";
import { ConnectorArgs, type TextFormat } from "./args.js";
import { reason } from "./system-errors.js";
import { openTextSink } from "./text-sink.js";
import { openTextSource, type TextPosition } from "./text-source.js";
import { openStagedFileSink } from "../checkpoint/staged-file-sink.js";

export const fileSource: SourceConnector = {
  kind: "source",
  async open(spec, ctx) {
    const args = new ConnectorArgs(spec);
    const written = args.string("path");
    const resolved = path.resolve(ctx.baseDir, written);
    const fail = (e: unknown) =>
      new ConnectorError(
        `cannot read file \`${written}\` (resolved to ${resolved}): ${reason(e)}`,
        ctx.loc,
        path.isAbsolute(written) ? undefined : "a relative path is resolved against the directory of the .flow file",
      );
    let size: number;
    try {
      const s = await stat(resolved);
      if (s.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
      size = s.size;
    } catch (e) {
      throw fail(e);
    }
    const resume = ctx.resume as TextPosition | undefined;
    const stream = createReadStream(resolved, resume ? { start: resume.offset } : {});
    // Opening can still fail (permissions): say so now rather than from the first next().
    try {
      await once(stream, "open");
    } catch (e) {
      throw fail(e);
    }
    return openTextSource(stream, ctx, { format: args.format(), origin: written, eager: false, totalBytes: size, readError: fail, ...(resume ? { resume } : {}) });
  },
};

const EXTENSIONS: Record<TextFormat, string> = { lines: "txt", csv: "csv", jsonl: "jsonl" };
const PART_FILE = /^part-(\d+)\.(txt|csv|jsonl)$/;

export const fileSink: SinkConnector = {
  kind: "sink",
  async open(spec, ctx) {
    const args = new ConnectorArgs(spec);
    const format = args.format();
    const written = args.string("path");
    const dir = path.resolve(ctx.baseDir, written);
    const final = `part-${ctx.partition}.${EXTENSIONS[format]}`;
    const name = ctx.attempt === undefined ? final : `.${final}.attempt-${ctx.attempt}`;
    const shown = path.join(written, name);
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw new ConnectorError(`cannot create the output directory \`${written}\` (resolved to ${dir}): ${reason(e)}`, ctx.loc);
    }
    // A resumed job keeps every part file committed so far, also those of partitions it no longer has.
    if (ctx.partition === 0 && !ctx.staging?.resumed) await removeStaleParts(dir, written, format, ctx);
    if (ctx.staging) {
      return openStagedFileSink(dir, final, ctx.staging, {
        format,
        type: ctx.elementType,
        writeError: (file, e) => new ConnectorError(`cannot write \`${path.join(written, file)}\` (resolved to ${path.join(dir, file)}): ${reason(e)}`, ctx.loc),
      });
    }
    const stream = createWriteStream(path.join(dir, name));
    const fail = (e: unknown) => new ConnectorError(`cannot write \`${shown}\` (resolved to ${path.join(dir, name)}): ${reason(e)}`, ctx.loc);
    try {
      await once(stream, "open");
    } catch (e) {
      throw fail(e);
    }
    const writer = openTextSink(stream, { format, type: ctx.elementType, header: true, end: true, writeError: fail });
    if (ctx.attempt === undefined) return writer;
    return {
      ...writer,
      write: (records) => writer.write(records),
      ready: () => writer.ready(),
      close: () => writer.close(),
      commit: async () => {
        try {
          await rename(path.join(dir, name), path.join(dir, final));
          for (const entry of await readdir(dir)) {
            if (entry.startsWith(`.${final}.attempt-`)) await rm(path.join(dir, entry), { force: true });
          }
        } catch (e) {
          throw new ConnectorError(`cannot publish \`${path.join(written, final)}\`: ${reason(e)}`, ctx.loc);
        }
      },
      discard: async () => {
        await rm(path.join(dir, name), { force: true }).catch(() => {});
      },
    };
  },
};

/**
 * Part files this run will not write, left by an earlier run with more partitions or another
 * format, would be read back as if they were output. Partition 0 removes them; the names it
 * removes are never ones another partition of this run creates, so there is no race.
 */
async function removeStaleParts(dir: string, written: string, format: TextFormat, ctx: SinkContext): Promise<void> {
  for (const entry of await readdir(dir)) {
    const m = PART_FILE.exec(entry);
    if (!m) continue;
    if (Number(m[1]) < ctx.partitions && m[2] === EXTENSIONS[format]) continue;
    try {
      await rm(path.join(dir, entry), { force: true });
    } catch (e) {
      throw new ConnectorError(`cannot remove the old part file \`${path.join(written, entry)}\`: ${reason(e)}`, ctx.loc);
    }
  }
}
