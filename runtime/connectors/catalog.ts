// The connectors a .flow file can name, with their parameters. The compiler checks connector calls
// against this table (positional arguments take parameters in order); the runtime opens them.
// Adding a connector: one entry here, one file in this folder, one line in registry.ts.

export type ParamType = "string" | "int" | "float" | "duration";

export interface ConnectorParam {
  name: string;
  type: ParamType;
  /** Absent means required. */
  default?: string | number;
  /** For string parameters with a fixed set of values. */
  oneOf?: string[];
  doc: string;
}

export interface ConnectorInfo {
  name: string;
  /** Where it may appear: after `source NAME: T =`, after `sink`, or both. */
  roles: ("source" | "sink")[];
  params: ConnectorParam[];
  doc: string;
  /** Bounded sources end by themselves; unbounded ones run until closed or cancelled. */
  bounded?: boolean;
}

const FORMATS = ["lines", "csv", "jsonl"];

export const CONNECTORS: ConnectorInfo[] = [
  {
    name: "file",
    roles: ["source", "sink"],
    bounded: true,
    params: [
      { name: "path", type: "string", doc: "A file (source) or a directory of part files (sink), relative to the .flow file." },
      { name: "format", type: "string", default: "lines", oneOf: FORMATS, doc: "lines: one value per line; csv: a header row, then one record per row; jsonl: one JSON value per line." },
    ],
    doc: "Reads a file (bounded, replayable) or writes a directory with one part file per partition (`part-N.txt`, `.csv` or `.jsonl`); part files of an earlier run are replaced.",
  },
  {
    name: "socket",
    roles: ["source", "sink"],
    bounded: false,
    params: [
      { name: "host", type: "string", doc: "Host to connect to." },
      { name: "port", type: "int", doc: "TCP port." },
    ],
    doc: "Source: connects to host:port and reads UTF-8 text lines until the peer closes (like Spark's socketTextStream); a non-string element type reads each line as JSON. Sink: connects and writes one line per record, JSON for non-strings.",
  },
  {
    name: "stdin",
    roles: ["source"],
    bounded: true,
    params: [{ name: "format", type: "string", default: "lines", oneOf: FORMATS, doc: "As for file." }],
    doc: "Reads standard input until it ends.",
  },
  {
    name: "stdout",
    roles: ["sink"],
    params: [{ name: "format", type: "string", default: "jsonl", oneOf: FORMATS, doc: "As for file." }],
    doc: "Writes to standard output, one record per line.",
  },
  {
    name: "generate",
    roles: ["source"],
    bounded: true,
    params: [
      { name: "count", type: "int", doc: "How many records to generate." },
      { name: "rate", type: "int", default: 0, doc: "Records per second; 0 means as fast as possible." },
      { name: "seed", type: "int", default: 1, doc: "Seed of the deterministic values." },
    ],
    doc: "Deterministic synthetic records of the declared type, for tests and benchmarks. Record n has int n, float n + 0.5, bool n % 2 == 0, timestamp 1700000000000 + n * 1000, duration n ms, a string word picked by the seed, arrays of 1 to 3 elements; optional fields are missing when n % 3 == 2.",
  },
];

export function findConnector(name: string): ConnectorInfo | undefined {
  return CONNECTORS.find((c) => c.name === name);
}
