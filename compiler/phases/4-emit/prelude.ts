// Helper functions the emitted module may need, copied into it only when used, so a plan module
// has no run-time imports at all and runs under plain `node`.
import type { HelperName } from "../../builtins.js";

export type PreludeName = HelperName | "at" | "udf";

export const PRELUDE: Record<PreludeName, string> = {
  toInt: `function $toInt(x: string | number): number {
  if (typeof x === "number") return Math.trunc(x);
  const t = x.trim();
  if (!/^[-+]?\\d+$/.test(t)) throw new Error(\`toInt: \${JSON.stringify(x)} is not a whole number\`);
  return Number(t);
}`,
  toFloat: `function $toFloat(x: string | number): number {
  if (typeof x === "number") return x;
  const n = x.trim() === "" ? NaN : Number(x);
  if (Number.isNaN(n)) throw new Error(\`toFloat: \${JSON.stringify(x)} is not a number\`);
  return n;
}`,
  toString: `function $toString(x: unknown): string {
  return typeof x === "string" ? x : typeof x === "number" || typeof x === "boolean" ? String(x) : JSON.stringify(x);
}`,
  substr: `function $substr(s: string, start: number, length?: number): string {
  return length === undefined ? s.slice(start) : s.slice(start, start + Math.max(0, length));
}`,
  udf: `function $udf<A extends unknown[], R>(where: string, f: (...args: A) => R, ...args: A): R {
  try {
    return f(...args);
  } catch (e) {
    // The runtime reports the record with \`where\`, the call's place in the .flow file.
    throw Object.assign(new Error(\`\${f.name} threw: \${e instanceof Error ? e.message : String(e)}\`), { where });
  }
}`,
  at: `function $at<T>(xs: readonly T[], i: number): T {
  if (!Number.isInteger(i) || i < 0 || i >= xs.length) throw new RangeError(\`index \${i} is outside the array (length \${xs.length})\`);
  return xs[i]!;
}`,
};
