// Flow's static types as plain data. The runtime owns them because plans carry them
// (sources validate records against their declared element type); the compiler imports them.

export type FlowType =
  | { kind: "int" }
  | { kind: "float" }
  | { kind: "string" }
  | { kind: "bool" }
  | { kind: "timestamp" }
  | { kind: "duration" }
  | { kind: "array"; element: FlowType }
  | { kind: "record"; fields: RecordField[]; name?: string }
  /** A value that may be missing: what reading an optional field gives. `??` turns it into `inner`. */
  | { kind: "optional"; inner: FlowType }
  /** The type of an expression whose type could not be determined (after an error). Compatible with everything. */
  | { kind: "unknown" };

export interface RecordField {
  name: string;
  type: FlowType;
  optional: boolean;
}

export const T = {
  int: { kind: "int" } as FlowType,
  float: { kind: "float" } as FlowType,
  string: { kind: "string" } as FlowType,
  bool: { kind: "bool" } as FlowType,
  timestamp: { kind: "timestamp" } as FlowType,
  duration: { kind: "duration" } as FlowType,
  unknown: { kind: "unknown" } as FlowType,
  array: (element: FlowType): FlowType => ({ kind: "array", element }),
  record: (fields: RecordField[], name?: string): FlowType =>
    name === undefined ? { kind: "record", fields } : { kind: "record", fields, name },
};

/** How a type is written in a .flow file (named records print by name). */
export function typeToString(t: FlowType, expandNamed = false): string {
  switch (t.kind) {
    case "array": {
      const inner = typeToString(t.element, expandNamed);
      return t.element.kind === "record" && !t.element.name ? `(${inner})[]` : `${inner}[]`;
    }
    case "record":
      if (t.name && !expandNamed) return t.name;
      return `{ ${t.fields.map((f) => `${f.name}${f.optional ? "?" : ""}: ${typeToString(f.type)}`).join(", ")} }`;
    case "optional":
      return `${typeToString(t.inner, expandNamed)} (may be missing)`;
    case "unknown":
      return "unknown";
    default:
      return t.kind;
  }
}

/** Structural equality; names of record types do not matter. */
export function sameType(a: FlowType, b: FlowType): boolean {
  if (a.kind === "unknown" || b.kind === "unknown") return true;
  if (a.kind !== b.kind) return false;
  if (a.kind === "array" && b.kind === "array") return sameType(a.element, b.element);
  if (a.kind === "optional" && b.kind === "optional") return sameType(a.inner, b.inner);
  if (a.kind === "record" && b.kind === "record") {
    if (a.fields.length !== b.fields.length) return false;
    return a.fields.every((f) => {
      const g = b.fields.find((x) => x.name === f.name);
      return g !== undefined && g.optional === f.optional && sameType(f.type, g.type);
    });
  }
  return true;
}
