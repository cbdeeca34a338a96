// The TypeScript functions the examples in docs/language.md and docs/errors.md import
// (test/docs.test.ts resolves their imports against this directory).
export type int = number;

export interface Url {
  host: string;
  path: string;
  port?: int;
}

export function parseUrl(s: string): Url {
  const u = new URL(s);
  return u.port ? { host: u.hostname, path: u.pathname, port: Number(u.port) } : { host: u.hostname, path: u.pathname };
}

export function slugify(s: string, maxLength?: int): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, maxLength ?? 80);
}

export function firstWord(s: string): string | undefined {
  return s.split(" ")[0] || undefined;
}

export const separator = "-";

export function describe(x: string | number): string {
  return String(x);
}

export function lookup(table: Map<string, number>, key: string): number {
  return table.get(key) ?? 0;
}
