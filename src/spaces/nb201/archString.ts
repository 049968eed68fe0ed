/**
 * NAS-Bench-201 cells and their standard string form.
 *
 * A cell is a DAG over 4 nodes (0 = cell input, 3 = cell output) with one op
 * on each of the 6 edges i→j (i < j). The standard string lists, for node
 * j = 1..3, the ops on its incoming edges from nodes 0..j-1:
 *
 *     |op~0|+|op~0|op~1|+|op~0|op~1|op~2|
 *
 * so the edge order is (0→1) | (0→2)(1→2) | (0→3)(1→3)(2→3). A `Nb201Cell`
 * is the 6 ops in that order.
 */
import { ArchitectureError } from '../../errors.js';

export type Nb201Op = 'none' | 'skip_connect' | 'nor_conv_1x1' | 'nor_conv_3x3' | 'avg_pool_3x3';

/** The five candidate ops, in NAS-Bench-201's order. */
export const NB201_OPS = Object.freeze([
  'none',
  'skip_connect',
  'nor_conv_1x1',
  'nor_conv_3x3',
  'avg_pool_3x3',
] as const) satisfies readonly Nb201Op[];

/** The six edges as [from, to] node pairs, in string (and cell) order. */
export const NB201_EDGES: readonly (readonly [from: number, to: number])[] = Object.freeze(
  (
    [
      [0, 1],
      [0, 2],
      [1, 2],
      [0, 3],
      [1, 3],
      [2, 3],
    ] as const
  ).map((edge) => Object.freeze([edge[0], edge[1]] as const)),
);

/** Number of edges in a cell. */
export const NB201_NUM_EDGES = 6;

/** Number of distinct cells (5^6); also the number of official benchmark indices. */
export const NB201_NUM_CELLS = 15625;

/** The 6 ops of a cell, in edge order (see `NB201_EDGES`). */
export type Nb201Cell = readonly Nb201Op[];

const OP_SET: ReadonlySet<string> = new Set<string>(NB201_OPS);

export function isNb201Op(value: unknown): value is Nb201Op {
  return typeof value === 'string' && OP_SET.has(value);
}

/** Position of an edge i→j in cell order, or -1 if it is not an edge. */
export function nb201EdgePosition(from: number, to: number): number {
  return NB201_EDGES.findIndex(([i, j]) => i === from && j === to);
}

/** Throws ArchitectureError unless `cell` is an array of 6 known ops. */
export function assertNb201Cell(cell: unknown): asserts cell is Nb201Cell {
  if (!Array.isArray(cell)) {
    throw new ArchitectureError(`invalid NAS-Bench-201 cell: expected an array of ${NB201_NUM_EDGES} ops, got ${describe(cell)}`);
  }
  if (cell.length !== NB201_NUM_EDGES) {
    throw new ArchitectureError(
      `invalid NAS-Bench-201 cell ${JSON.stringify(cell)}: expected ${NB201_NUM_EDGES} ops, got ${cell.length}`,
    );
  }
  for (let e = 0; e < NB201_NUM_EDGES; e++) {
    if (!isNb201Op(cell[e])) {
      const [i, j] = NB201_EDGES[e];
      throw new ArchitectureError(
        `invalid NAS-Bench-201 cell ${JSON.stringify(cell)}: edge ${e} (${i}→${j}) has unknown op ` +
          `${JSON.stringify(cell[e])} (expected one of ${NB201_OPS.join(', ')})`,
      );
    }
  }
}

/**
 * Parses the standard string. Strict: exactly three `|…|` node groups joined
 * by `+`, node j listing inputs ~0..~(j-1) in order, known ops, no whitespace.
 * Every error quotes the string and names the node and edge at fault.
 */
export function parseNb201(str: string): Nb201Cell {
  if (typeof str !== 'string') {
    throw new ArchitectureError(`invalid NAS-Bench-201 architecture string: expected a string, got ${describe(str)}`);
  }
  const bad = (what: string) =>
    new ArchitectureError(`invalid NAS-Bench-201 architecture string ${JSON.stringify(str)}: ${what}`);
  if (str.length === 0) throw bad('the string is empty');
  const ws = str.search(/\s/);
  if (ws >= 0) throw bad(`unexpected whitespace ${JSON.stringify(str[ws])} at offset ${ws}`);

  const groups = str.split('+');
  if (groups.length !== 3) {
    throw bad(`expected 3 nodes separated by '+', got ${groups.length} ${groups.length === 1 ? 'node' : 'nodes'}`);
  }
  const ops: Nb201Op[] = [];
  for (let j = 1; j <= 3; j++) {
    const group = groups[j - 1];
    const where = `node ${j}`;
    if (group.length === 0) throw bad(`${where} is empty (expected ${expectedGroup(j)})`);
    if (!group.startsWith('|')) throw bad(`${where}: missing '|' at the start of ${JSON.stringify(group)}`);
    if (group.length < 2 || !group.endsWith('|')) throw bad(`${where}: missing '|' at the end of ${JSON.stringify(group)}`);
    const inner = group.slice(1, -1);
    const edges = inner === '' ? [] : inner.split('|');
    if (edges.length !== j) {
      throw bad(`${where}: expected ${j} ${j === 1 ? 'edge' : 'edges'} (${expectedGroup(j)}), got ${edges.length}`);
    }
    for (let k = 0; k < j; k++) {
      const token = edges[k];
      const at = `${where}, edge ${k + 1}`;
      if (token === '') throw bad(`${at}: empty edge (expected 'op~${k}')`);
      const parts = token.split('~');
      if (parts.length !== 2) throw bad(`${at}: expected 'op~${k}', got ${JSON.stringify(token)}`);
      const [op, input] = parts;
      if (op === '') throw bad(`${at}: missing op before '~${input}'`);
      if (input === '') throw bad(`${at}: missing input after '${op}~' (expected ~${k})`);
      if (input !== String(k)) {
        throw bad(`${at}: expected input ~${k}, got ~${input}`);
      }
      if (!isNb201Op(op)) throw bad(`${at}: unknown op ${JSON.stringify(op)} (expected one of ${NB201_OPS.join(', ')})`);
      ops.push(op);
    }
  }
  return Object.freeze(ops);
}

/** The standard string of a cell (validates the cell first). */
export function formatNb201(cell: Nb201Cell): string {
  assertNb201Cell(cell);
  return `|${cell[0]}~0|+|${cell[1]}~0|${cell[2]}~1|+|${cell[3]}~0|${cell[4]}~1|${cell[5]}~2|`;
}

/** A cell from a string or a cell (validated either way); cells come back frozen. */
export function toNb201Cell(arch: string | Nb201Cell): Nb201Cell {
  if (typeof arch === 'string') return parseNb201(arch);
  assertNb201Cell(arch);
  return Object.isFrozen(arch) ? arch : Object.freeze([...arch]);
}

/**
 * The cell's position in base-5 enumeration (edge 0 most significant, op
 * codes in `NB201_OPS` order). This is NOT the official benchmark index; use
 * `Nb201Table.indexOf` for that.
 */
export function nb201CellCode(cell: Nb201Cell): number {
  assertNb201Cell(cell);
  let code = 0;
  for (const op of cell) code = code * 5 + NB201_OPS.indexOf(op);
  return code;
}

/** Inverse of `nb201CellCode`. */
export function nb201CellFromCode(code: number): Nb201Cell {
  if (!Number.isInteger(code) || code < 0 || code >= NB201_NUM_CELLS) {
    throw new ArchitectureError(`NAS-Bench-201 cell code ${code} is out of range: expected an integer in 0..${NB201_NUM_CELLS - 1}`);
  }
  const ops = new Array<Nb201Op>(NB201_NUM_EDGES);
  for (let e = NB201_NUM_EDGES - 1; e >= 0; e--) {
    ops[e] = NB201_OPS[code % 5];
    code = Math.floor(code / 5);
  }
  return Object.freeze(ops);
}

function expectedGroup(j: number): string {
  return Array.from({ length: j }, (_, k) => `op~${k}`).join('|');
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return typeof value;
}
