// Every diagnostic code the compiler can report, by phase:
//   FLOW1xxx syntax (phase 1), FLOW2xxx names and types (phase 2), FLOW3xxx graph rules (phases 2-3),
//   FLOW4xxx internal errors. docs/errors.md explains each; a test fails when a code has no fixture.
import type { Severity } from "./diagnostic.js";

export interface CodeInfo {
  severity: Severity;
  title: string;
}

const error = (title: string): CodeInfo => ({ severity: "error", title });
const warning = (title: string): CodeInfo => ({ severity: "warning", title });

export const CODES = {
  // ---- syntax
  FLOW1001: error("unexpected token"),
  FLOW1002: error("unterminated string"),
  FLOW1003: error("invalid escape in a string"),
  FLOW1004: error("unexpected character"),
  FLOW1005: error("unterminated block comment"),
  FLOW1006: error("unknown duration unit"),
  FLOW1007: error("number out of range"),
  FLOW1008: error("nested too deeply"),
  // ---- names and types
  FLOW2001: error("unknown name"),
  FLOW2002: error("unknown operator"),
  FLOW2003: error("unknown function"),
  FLOW2004: error("unknown type"),
  FLOW2005: error("unknown field"),
  FLOW2006: error("type mismatch"),
  FLOW2007: error("wrong number of arguments"),
  FLOW2008: error("bad named argument"),
  FLOW2009: error("duplicate definition"),
  FLOW2010: error("expected a lambda"),
  FLOW2011: error("unknown connector"),
  FLOW2012: error("bad config entry"),
  FLOW2013: error("not a compile-time constant"),
  FLOW2014: error("a stream where a value is expected, or a value where a stream is expected"),
  FLOW2015: error("invalid regular expression"),
  FLOW2016: error("duplicate field"),
  FLOW2017: error("operator not defined for these operand types"),
  FLOW2018: error("not supported yet"),
  FLOW2019: warning("`??` on a value that is never missing"),
  // imported TypeScript functions (UDFs)
  FLOW2030: error("cannot import the module"),
  FLOW2031: error("no such exported function"),
  FLOW2032: error("TypeScript type with no Flow equivalent"),
  // ---- graph rules
  FLOW3001: error("pipeline without a sink"),
  FLOW3002: error("a sink must be the last step"),
  FLOW3003: error("aggregate on a stream that is not keyed"),
  FLOW3004: error("window not followed by an aggregate"),
  FLOW3005: warning("unused source or stream"),
  FLOW3006: error("duplicate sink name"),
  FLOW3007: error("circular stream definition"),
  FLOW3008: error("a sink inside an expression"),
  FLOW3009: error("join condition is not one equality of the two streams' keys"),
  FLOW3010: error("event-time and processing-time streams mixed"),
  // ---- internal
  FLOW4001: error("internal compiler error"),
} satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;

export const ALL_CODES = Object.keys(CODES) as Code[];
