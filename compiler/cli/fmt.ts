// `flowc fmt [files...] [--check | --write]`: prints the formatted text (default), lists the files
// that are not formatted and exits 1 (--check), or rewrites them (--write). Without files it
// formats standard input. A file with syntax errors is left alone: its errors are printed and the
// exit code is 1.
import { readFileSync, writeFileSync } from "node:fs";
import { format } from "../format/index.js";
import { SourceFile } from "../source.js";
import { printDiagnostics, printProblem, type Io } from "./output.js";

export interface FmtOptions {
  check?: boolean;
  write?: boolean;
}

export function fmtCommand(files: string[], o: FmtOptions, io: Io, stdin: () => string = () => readFileSync(0, "utf8")): number {
  if (o.check && o.write) {
    printProblem(io, "--check and --write cannot be used together");
    return 2;
  }
  let code = 0;
  const changed: string[] = [];
  const inputs = files.length === 0 ? [{ path: "<stdin>", read: stdin }] : files.map((path) => ({ path, read: () => readFileSync(path, "utf8") }));
  for (const input of inputs) {
    let text: string;
    try {
      text = input.read();
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      printProblem(io, `cannot read ${input.path}: ${err.code === "ENOENT" ? "no such file" : err.message}`);
      code = 1;
      continue;
    }
    const src = new SourceFile(input.path, text);
    const r = format(src);
    if (r.text === undefined) {
      printDiagnostics(io, r.diagnostics, [src], "pretty");
      io.stderr.write(`${input.path}: not formatted (syntax errors)\n`);
      code = 1;
      continue;
    }
    if (o.check) {
      if (r.text !== text) changed.push(input.path);
    } else if (o.write) {
      if (r.text !== text && files.length > 0) {
        writeFileSync(input.path, r.text);
        io.stderr.write(`formatted ${input.path}\n`);
      } else if (files.length === 0) io.stdout.write(r.text);
    } else io.stdout.write(r.text);
  }
  if (o.check && changed.length > 0) {
    for (const p of changed) io.stdout.write(`${p}\n`);
    io.stderr.write(`${changed.length} file${changed.length === 1 ? "" : "s"} not formatted (run \`flowc fmt --write\`)\n`);
    code = 1;
  }
  return code;
}
