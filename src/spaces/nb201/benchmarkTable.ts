/**
 * The NAS-Bench-201 / NATS-Bench (tss) benchmark table shipped in
 * `data/nb201/nb201_accuracies.csv` (provenance: `data/nb201/PROVENANCE.md`):
 * one row per official index 0..15624 with the architecture string, the
 * isomorphism class and 24 numeric columns (accuracies in percent, losses,
 * times in seconds).
 *
 * The file is read on first use and cached per path. The default path is
 * found from this module's location, so it works from `src/` (vitest, tsx)
 * and from the compiled `dist/src/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ArchitectureError,
  DataFormatError,
  FileNotFoundError,
  InternalError,
  InvalidArgumentError,
} from '../../errors.js';
import { NB201_NUM_CELLS, formatNb201, parseNb201, toNb201Cell, type Nb201Cell } from './archString.js';

/** The numeric columns, by their CSV names, in file order. */
export const NB201_NUMERIC_COLUMNS = [
  'c10_test_200',
  'c100_test_200',
  'in16_test_200',
  'c10v_train_acc_200',
  'c10v_valid_acc_200',
  'c10v_test_acc_200',
  'c10v_train_loss_200',
  'c10v_valid_loss_200',
  'c10v_test_loss_200',
  'c10v_train_time_per_epoch',
  'c10v_train_time_total',
  'c10v_valid_12',
  'c10_test_12',
  'c100_valid_12',
  'c100_test_12',
  'in16_valid_12',
  'in16_test_12',
  'c10_test_200_1seed',
  'c100_test_200_1seed',
  'in16_test_200_1seed',
  'c10_test_200_nb201api',
  'c100_test_200_nb201api',
  'in16_test_200_nb201api',
  'c10v_hp12_cost_s',
] as const;

export type Nb201Column = (typeof NB201_NUMERIC_COLUMNS)[number];

/** The full header the reader expects, in order. */
export const NB201_CSV_HEADER: readonly string[] = Object.freeze([
  'index',
  'arch_str',
  'iso_class',
  'ochoa_sol',
  ...NB201_NUMERIC_COLUMNS,
]);

/** One benchmark row. `arch` is the CSV's `arch_str`, `isoClass` its `iso_class`, `ochoaSol` its `ochoa_sol`. */
export type Nb201Row = Readonly<
  {
    index: number;
    arch: string;
    isoClass: string;
    /** 6-digit genotype of the NAS-Landscapes data: one digit per edge, 1=none 2=skip 3=conv1x1 4=conv3x3 5=avgpool. */
    ochoaSol: string;
  } & Record<Nb201Column, number>
>;

const DATA_RELATIVE = join('data', 'nb201', 'nb201_accuracies.csv');
const COLUMN_SET: ReadonlySet<string> = new Set(NB201_NUMERIC_COLUMNS);

/**
 * Where the bundled CSV is: the first folder at or above this module's folder
 * that contains `data/nb201/nb201_accuracies.csv`. Throws FileNotFoundError
 * when there is none.
 */
export function nb201DataPath(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; ) {
    const candidate = join(dir, DATA_RELATIVE);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new FileNotFoundError(`${DATA_RELATIVE} (searched every folder from ${start} up to the root)`);
}

export class Nb201Table {
  /** Number of rows (always 15625). */
  readonly size: number;
  /** Absolute path of the CSV this table was read from. */
  readonly path: string;
  readonly #arch: readonly string[];
  readonly #iso: readonly string[];
  readonly #ochoa: readonly string[];
  readonly #columns: ReadonlyMap<Nb201Column, Float64Array>;
  readonly #indexByArch: ReadonlyMap<string, number>;

  /** Use `loadNb201Table`; this constructor parses and validates CSV text. */
  constructor(text: string, path: string) {
    this.path = path;
    const parsed = parseTable(text, path);
    this.#arch = parsed.arch;
    this.#iso = parsed.iso;
    this.#ochoa = parsed.ochoa;
    this.#columns = parsed.columns;
    this.#indexByArch = parsed.indexByArch;
    this.size = parsed.arch.length;
  }

  /** The official index of an architecture (string or cell). Malformed input throws ArchitectureError. */
  indexOf(arch: string | Nb201Cell): number {
    const key = formatNb201(toNb201Cell(arch));
    const index = this.#indexByArch.get(key);
    // The table was checked to hold all 5^6 distinct cells, so every valid cell is present.
    if (index === undefined) throw new InternalError(`${key} is missing from the NAS-Bench-201 table ${this.path}`);
    return index;
  }

  /** The standard string of an official index. */
  archAt(index: number): string {
    return this.#arch[this.#checkIndex(index)];
  }

  /** The cell of an official index. */
  cellAt(index: number): Nb201Cell {
    return parseNb201(this.archAt(index));
  }

  /** The table's `iso_class` (NATS-Bench isomorphism key) of an official index. */
  isoClassAt(index: number): string {
    return this.#iso[this.#checkIndex(index)];
  }

  /** One row as a frozen object. */
  row(index: number): Nb201Row {
    const i = this.#checkIndex(index);
    const row: Record<string, number | string> = {
      index: i,
      arch: this.#arch[i],
      isoClass: this.#iso[i],
      ochoaSol: this.#ochoa[i],
    };
    for (const [name, values] of this.#columns) row[name] = values[i];
    return Object.freeze(row) as Nb201Row;
  }

  /** One numeric column over all indices (a copy: element i is index i). */
  column(name: Nb201Column): Float64Array {
    const values = typeof name === 'string' ? this.#columns.get(name) : undefined;
    if (!values) {
      throw new InvalidArgumentError(
        `unknown NAS-Bench-201 column ${JSON.stringify(name)}: expected one of ${NB201_NUMERIC_COLUMNS.join(', ')}`,
      );
    }
    return values.slice();
  }

  #checkIndex(index: number): number {
    if (typeof index !== 'number' || !Number.isInteger(index)) {
      throw new ArchitectureError(
        `NAS-Bench-201 index ${String(index)} is not an integer: expected an integer in 0..${this.size - 1}`,
      );
    }
    if (index < 0 || index >= this.size) {
      throw new ArchitectureError(`NAS-Bench-201 index ${index} is out of range: expected an integer in 0..${this.size - 1}`);
    }
    return index;
  }
}

const cache = new Map<string, Nb201Table>();

/**
 * The benchmark table, read and validated on first use and cached. `path`
 * overrides the bundled CSV (same format). Throws FileNotFoundError when the
 * file cannot be read and DataFormatError when its content does not fit.
 */
export function loadNb201Table(options: { path?: string } = {}): Nb201Table {
  const path = options.path === undefined ? nb201DataPath() : resolve(options.path);
  const hit = cache.get(path);
  if (hit) return hit;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new FileNotFoundError(path, { cause });
  }
  const table = new Nb201Table(text, path);
  cache.set(path, table);
  return table;
}

interface ParsedTable {
  arch: string[];
  iso: string[];
  ochoa: string[];
  columns: Map<Nb201Column, Float64Array>;
  indexByArch: Map<string, number>;
}

function parseTable(text: string, path: string): ParsedTable {
  const bad = (what: string, cause?: unknown) =>
    new DataFormatError(`NAS-Bench-201 table ${path}: ${what}`, cause === undefined ? undefined : { cause });

  const lines = text.split('\n');
  // One trailing newline is allowed; tolerate CRLF line ends.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let l = 0; l < lines.length; l++) {
    if (lines[l].endsWith('\r')) lines[l] = lines[l].slice(0, -1);
  }
  if (lines.length === 0) throw bad('the file is empty');

  const header = lines[0].split(',');
  const width = NB201_CSV_HEADER.length;
  if (header.length !== width || header.some((name, c) => name !== NB201_CSV_HEADER[c])) {
    const c = header.findIndex((name, k) => name !== NB201_CSV_HEADER[k]);
    const at = c >= 0 ? c : Math.min(header.length, width);
    throw bad(
      `unexpected header: column ${at} is ${JSON.stringify(header[at] ?? '(missing)')}, expected ` +
        `${JSON.stringify(NB201_CSV_HEADER[at] ?? '(end of line)')} (${header.length} columns, expected ${width})`,
    );
  }

  const rows = lines.length - 1;
  if (rows !== NB201_NUM_CELLS) throw bad(`expected ${NB201_NUM_CELLS} data rows, got ${rows}`);

  const arch = new Array<string>(rows);
  const iso = new Array<string>(rows);
  const ochoa = new Array<string>(rows);
  const numeric = NB201_NUMERIC_COLUMNS.map(() => new Float64Array(rows));
  const indexByArch = new Map<string, number>();

  for (let r = 0; r < rows; r++) {
    const line = r + 2; // 1-based file line
    const fields = lines[r + 1].split(',');
    if (fields.length !== width) throw bad(`line ${line}: expected ${width} fields, got ${fields.length}`);
    if (fields[0] !== String(r)) {
      throw bad(`line ${line}: index column is ${JSON.stringify(fields[0])}, expected ${r} (rows must be in index order)`);
    }
    let canonical: string;
    try {
      canonical = formatNb201(parseNb201(fields[1]));
    } catch (cause) {
      throw bad(`line ${line} (index ${r}): arch_str is not a valid architecture string`, cause);
    }
    if (canonical !== fields[1]) throw bad(`line ${line} (index ${r}): arch_str is not in canonical form`);
    const previous = indexByArch.get(canonical);
    if (previous !== undefined) throw bad(`line ${line}: arch_str of index ${r} repeats index ${previous}`);
    indexByArch.set(canonical, r);
    arch[r] = canonical;
    if (fields[2] === '') throw bad(`line ${line} (index ${r}): iso_class is empty`);
    iso[r] = fields[2];
    if (!/^[1-5]{6}$/.test(fields[3])) throw bad(`line ${line} (index ${r}): ochoa_sol ${JSON.stringify(fields[3])} is not 6 digits 1–5`);
    ochoa[r] = fields[3];
    for (let c = 0; c < numeric.length; c++) {
      const field = fields[4 + c];
      const value = field === '' ? Number.NaN : Number(field);
      if (!Number.isFinite(value)) {
        throw bad(`line ${line} (index ${r}): ${NB201_NUMERIC_COLUMNS[c]} is ${JSON.stringify(field)}, expected a finite number`);
      }
      numeric[c][r] = value;
    }
  }

  const columns = new Map<Nb201Column, Float64Array>();
  NB201_NUMERIC_COLUMNS.forEach((name, c) => columns.set(name, numeric[c]));
  return { arch, iso, ochoa, columns, indexByArch };
}

/** Whether `name` is one of the table's numeric columns. */
export function isNb201Column(name: unknown): name is Nb201Column {
  return typeof name === 'string' && COLUMN_SET.has(name);
}
