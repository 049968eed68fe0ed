/**
 * Text tables for the commands' small outputs: aligned columns for people,
 * CSV for spreadsheets. Numbers that are not integers print with 6
 * significant digits in tables and in full in CSV.
 */
export type Cell = string | number | boolean | null | undefined;

function csvCell(v: Cell): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function tableCell(v: Cell, digits: number): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number' && !Number.isInteger(v)) return Number.isFinite(v) ? v.toPrecision(digits) : String(v);
  return String(v);
}

export function formatCsv(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [header, ...rows].map((line) => line.map(csvCell).join(',')).join('\n');
}

export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[], digits = 6): string {
  const cells = rows.map((line) => line.map((v) => tableCell(v, digits)));
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((line) => line[c].length)));
  return [header, ...cells].map((line) => line.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}
