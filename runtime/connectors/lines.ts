// Splits a byte stream, chunk by chunk, into numbered UTF-8 text lines: the one place that knows
// about chunk boundaries, used by every line-based source (file, stdin, socket).
//
// A line may end with \n or \r\n; a last line without a newline still counts; a UTF-8 byte-order
// mark at the very start is dropped. A character whose bytes are split across two chunks is
// decoded whole (StringDecoder holds the incomplete bytes back until the next chunk).
import { StringDecoder } from "node:string_decoder";

export interface Line {
  /** 1-based. */
  number: number;
  text: string;
}

export class LineSplitter {
  private readonly decoder = new StringDecoder("utf8");
  /** Text after the last newline seen: the start of a line whose end has not arrived yet. */
  private partial = "";
  private lineNumber = 0;
  private started = false;

  /** Complete lines in the chunk (with what was left from earlier chunks). */
  push(chunk: Buffer | string, out: Line[]): void {
    let text = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let from = 0;
    for (;;) {
      const nl = text.indexOf("\n", from);
      if (nl < 0) break;
      let line = text.slice(from, nl);
      if (from === 0 && this.partial !== "") {
        line = this.partial + line;
        this.partial = "";
      }
      out.push({ number: ++this.lineNumber, text: stripCR(line) });
      from = nl + 1;
    }
    if (from < text.length) this.partial = from === 0 ? this.partial + text : text.slice(from);
  }

  /** The last line, if the input did not end with a newline. */
  end(out: Line[]): void {
    const rest = this.partial + this.decoder.end();
    this.partial = "";
    if (rest !== "") out.push({ number: ++this.lineNumber, text: stripCR(rest) });
  }
}

function stripCR(line: string): string {
  return line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}
