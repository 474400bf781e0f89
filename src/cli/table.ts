/** Prints rows as an aligned plain-text table (for people; every command also has --json). */
export function printTable<T extends object>(
  rows: readonly T[],
  columns: readonly (keyof T & string)[],
  out: (s: string) => void = console.log,
): void {
  if (rows.length === 0) {
    out('(none)');
    return;
  }
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v)).replace(/\s+/g, ' ').slice(0, 80);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  out(line([...columns]));
  out(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) out(line(columns.map((c) => cell(r[c]))));
}
