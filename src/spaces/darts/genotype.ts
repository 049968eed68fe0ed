/**
 * DARTS cell genotypes (Liu et al., "DARTS: Differentiable Architecture
 * Search", ICLR 2019) — the space HNAS and NAS-Bench-301 search.
 *
 * A genotype describes two cells, `normal` and `reduce`. Each cell has two
 * input states (0: the output of the cell before the previous one, 1: the
 * previous cell's output) and four intermediate nodes, states 2..5. Node k
 * (0..3, state k + 2) is the sum of two ops, each applied to an earlier state
 * (0..k + 1); its two (op, input) pairs are entries 2k and 2k + 1 of the
 * cell's list. The cell's output concatenates the states in `concat`
 * (normally [2, 3, 4, 5]) on channels.
 *
 * Text form: DARTS' `Genotype` namedtuple repr, e.g.
 * `Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])`.
 * The parser also takes `range(2, 6)` for a concat (as DARTS' search model
 * prints it), double quotes, tuples for lists, trailing commas and any
 * whitespace; `formatGenotype` writes the exact repr DARTS / NAS-Bench-301
 * strings use, so format(parse(s)) === s for such strings.
 *
 * Validation (every failure is an ArchitectureError naming the cell and
 * node): exactly 8 pairs per cell; every input an earlier state; the two
 * inputs of a node distinct (as every DARTS-derived or NAS-Bench-301 cell
 * has them; DARTS' evaluation code would accept a repeated input, but such a
 * cell is outside the searched space); ops from DARTS_OPS (`none` is a search
 * candidate only, never part of a genotype); concat a non-empty list of
 * distinct intermediate states (2..5).
 */
import { ArchitectureError } from '../../errors.js';

/** The operations of a DARTS genotype, in DARTS' PRIMITIVES order (without `none`). */
export const DARTS_OPS = [
  'max_pool_3x3',
  'avg_pool_3x3',
  'skip_connect',
  'sep_conv_3x3',
  'sep_conv_5x5',
  'dil_conv_3x3',
  'dil_conv_5x5',
] as const;
export type DartsOp = (typeof DARTS_OPS)[number];

/** DARTS' PRIMITIVES: the candidates on every edge of the search supernet, `none` first. */
export const DARTS_PRIMITIVES = ['none', ...DARTS_OPS] as const;
export type DartsPrimitive = (typeof DARTS_PRIMITIVES)[number];

/** Intermediate nodes per cell. */
export const DARTS_STEPS = 4;
/** (op, input) pairs per cell: two per intermediate node. */
export const DARTS_PAIRS_PER_CELL = 2 * DARTS_STEPS;
/** Edges (i → node) per cell of the search supernet: 2 + 3 + 4 + 5. */
export const DARTS_EDGES_PER_CELL = 14;

/** One incoming edge of a node: the op and the state it reads. */
export type DartsPair = readonly [op: DartsOp, input: number];

export interface Genotype {
  /** 8 (op, input) pairs: node k uses pairs 2k and 2k + 1. */
  readonly normal: readonly DartsPair[];
  /** States concatenated into the normal cell's output, e.g. [2, 3, 4, 5]. */
  readonly normalConcat: readonly number[];
  readonly reduce: readonly DartsPair[];
  readonly reduceConcat: readonly number[];
}

export type CellKind = 'normal' | 'reduce';

/** DARTS-V2 (second-order DARTS, the paper's 2.76 % CIFAR-10 cell), as in DARTS' genotypes.py. */
export const DARTS_V2: Genotype = Object.freeze({
  normal: Object.freeze([
    ['sep_conv_3x3', 0],
    ['sep_conv_3x3', 1],
    ['sep_conv_3x3', 0],
    ['sep_conv_3x3', 1],
    ['sep_conv_3x3', 1],
    ['skip_connect', 0],
    ['skip_connect', 0],
    ['dil_conv_3x3', 2],
  ] as const),
  normalConcat: Object.freeze([2, 3, 4, 5]),
  reduce: Object.freeze([
    ['max_pool_3x3', 0],
    ['max_pool_3x3', 1],
    ['skip_connect', 2],
    ['max_pool_3x3', 1],
    ['max_pool_3x3', 0],
    ['skip_connect', 2],
    ['skip_connect', 2],
    ['max_pool_3x3', 1],
  ] as const),
  reduceConcat: Object.freeze([2, 3, 4, 5]),
});

const OP_SET: ReadonlySet<string> = new Set(DARTS_OPS);

export function isDartsOp(name: string): name is DartsOp {
  return OP_SET.has(name);
}

// ---------------------------------------------------------------------------
// Validation

/** Checks one cell's pairs and concat; throws ArchitectureError naming the cell and node. */
export function validateCell(kind: CellKind, pairs: readonly (readonly [string, number])[], concat: readonly number[]): void {
  const cell = `${kind} cell`;
  if (!Array.isArray(pairs)) throw new ArchitectureError(`${cell}: the (op, input) pairs are not a list`);
  if (pairs.length !== DARTS_PAIRS_PER_CELL) {
    throw new ArchitectureError(`${cell} has ${pairs.length} (op, input) pairs, expected ${DARTS_PAIRS_PER_CELL}`);
  }
  for (let node = 0; node < DARTS_STEPS; node++) {
    const states = node + 2;
    const inputs: number[] = [];
    for (let e = 0; e < 2; e++) {
      const pair = pairs[2 * node + e];
      const where = `${cell}, node ${node}`;
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new ArchitectureError(`${where}: entry ${2 * node + e} is not an (op, input) pair`);
      }
      const [op, input] = pair;
      if (typeof op !== 'string') throw new ArchitectureError(`${where}: op ${String(op)} is not a string`);
      if (op === 'none') {
        throw new ArchitectureError(`${where}: op 'none' is a search candidate only and cannot appear in a genotype`);
      }
      if (!OP_SET.has(op)) {
        throw new ArchitectureError(`${where}: unknown op '${op}' (expected one of ${DARTS_OPS.join(', ')})`);
      }
      if (typeof input !== 'number' || !Number.isInteger(input) || input < 0 || input >= states) {
        throw new ArchitectureError(`${where}: input ${String(input)} is not an earlier state (0–${states - 1})`);
      }
      inputs.push(input);
    }
    if (inputs[0] === inputs[1]) {
      throw new ArchitectureError(`${cell}, node ${node}: both inputs are state ${inputs[0]}; a DARTS node reads two distinct states`);
    }
  }
  validateConcat(kind, concat);
}

function validateConcat(kind: CellKind, concat: readonly number[]): void {
  const what = `${kind}_concat`;
  if (!Array.isArray(concat) || concat.length === 0) throw new ArchitectureError(`${what} must be a non-empty list of states`);
  const seen = new Set<number>();
  for (const s of concat) {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 2 || s >= 2 + DARTS_STEPS) {
      throw new ArchitectureError(`${what}: ${String(s)} is not an intermediate state (2–${1 + DARTS_STEPS})`);
    }
    if (seen.has(s)) throw new ArchitectureError(`${what}: state ${s} is listed twice`);
    seen.add(s);
  }
}

/** Checks a whole genotype (see the module comment for the rules). */
export function validateGenotype(g: Genotype): void {
  if (g === null || typeof g !== 'object') throw new ArchitectureError('a genotype must be an object');
  validateCell('normal', g.normal, g.normalConcat);
  validateCell('reduce', g.reduce, g.reduceConcat);
}

/** A validated, frozen copy of a genotype. */
export function makeGenotype(g: Genotype): Genotype {
  validateGenotype(g);
  const pairs = (ps: readonly DartsPair[]) => Object.freeze(ps.map(([op, i]) => Object.freeze([op, i] as const)));
  return Object.freeze({
    normal: pairs(g.normal),
    normalConcat: Object.freeze([...g.normalConcat]),
    reduce: pairs(g.reduce),
    reduceConcat: Object.freeze([...g.reduceConcat]),
  });
}

// ---------------------------------------------------------------------------
// Text form

type Token =
  | { kind: 'ident'; value: string; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'int'; value: number; pos: number }
  | { kind: 'punct'; value: string; pos: number }
  | { kind: 'end'; value: ''; pos: number };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      tokens.push({ kind: 'ident', value: m[0], pos: i });
      i += m[0].length;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(text[i + 1] ?? ''))) {
      const m = /^-?[0-9]+/.exec(text.slice(i))!;
      tokens.push({ kind: 'int', value: Number(m[0]), pos: i });
      i += m[0].length;
    } else if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new ArchitectureError(`genotype text: unterminated string at offset ${i}`);
      tokens.push({ kind: 'string', value: text.slice(i + 1, end), pos: i });
      i = end + 1;
    } else if ('()[],='.includes(c)) {
      tokens.push({ kind: 'punct', value: c, pos: i });
      i++;
    } else {
      throw new ArchitectureError(`genotype text: unexpected character '${c}' at offset ${i}`);
    }
  }
  tokens.push({ kind: 'end', value: '', pos: text.length });
  return tokens;
}

/** The Python literal subset a Genotype repr uses. */
type Value = string | number | Value[] | { call: string; args: Value[] };

class Parser {
  #i = 0;
  constructor(readonly tokens: Token[]) {}

  peek(): Token {
    return this.tokens[this.#i];
  }

  next(): Token {
    return this.tokens[this.#i++];
  }

  fail(message: string, t: Token = this.peek()): never {
    const at = t.kind === 'end' ? 'at the end' : `at offset ${t.pos} ('${String(t.value)}')`;
    throw new ArchitectureError(`genotype text: ${message} ${at}`);
  }

  expectPunct(p: string): void {
    const t = this.next();
    if (t.kind !== 'punct' || t.value !== p) this.fail(`expected '${p}'`, t);
  }

  isPunct(p: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.value === p;
  }

  /** Comma-separated items up to `close`, a trailing comma allowed. */
  items<T>(close: string, item: () => T): T[] {
    const out: T[] = [];
    while (!this.isPunct(close)) {
      out.push(item());
      if (this.isPunct(',')) this.next();
      else if (!this.isPunct(close)) this.fail(`expected ',' or '${close}'`);
    }
    this.next();
    return out;
  }

  value(): Value {
    const t = this.next();
    if (t.kind === 'string' || t.kind === 'int') return t.value;
    if (t.kind === 'punct' && t.value === '[') return this.items(']', () => this.value());
    if (t.kind === 'punct' && t.value === '(') return this.items(')', () => this.value());
    if (t.kind === 'ident' && this.isPunct('(')) {
      this.next();
      return { call: t.value, args: this.items(')', () => this.value()) };
    }
    return this.fail('expected a string, an integer, a list or a tuple', t);
  }

  /** `Genotype(name=value, ...)`. */
  genotypeCall(): Map<string, Value> {
    const head = this.next();
    if (head.kind !== 'ident' || head.value !== 'Genotype') this.fail("expected 'Genotype('", head);
    this.expectPunct('(');
    const fields = new Map<string, Value>();
    this.items(')', () => {
      const name = this.next();
      if (name.kind !== 'ident') this.fail('expected a field name', name);
      this.expectPunct('=');
      if (fields.has(name.value)) this.fail(`field '${name.value}' given twice`, name);
      fields.set(name.value, this.value());
    });
    if (this.peek().kind !== 'end') this.fail('unexpected text after the closing parenthesis');
    return fields;
  }
}

const FIELDS = ['normal', 'normal_concat', 'reduce', 'reduce_concat'] as const;

function toPairs(kind: CellKind, v: Value): [string, number][] {
  if (!Array.isArray(v)) throw new ArchitectureError(`${kind} cell: expected a list of (op, input) pairs`);
  return v.map((p, idx) => {
    const node = Math.floor(idx / 2);
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'number') {
      throw new ArchitectureError(`${kind} cell, node ${node}: entry ${idx} is not an ('op', input) pair`);
    }
    return [p[0], p[1]];
  });
}

function toConcat(field: string, v: Value): number[] {
  if (Array.isArray(v)) {
    if (!v.every((s): s is number => typeof s === 'number')) throw new ArchitectureError(`${field}: expected a list of integers`);
    return v;
  }
  if (typeof v === 'object' && v.call === 'range') {
    const a = v.args;
    if (!a.every((s): s is number => typeof s === 'number') || a.length < 1 || a.length > 2) {
      throw new ArchitectureError(`${field}: expected range(start, stop) with integer bounds`);
    }
    const [start, stop] = a.length === 1 ? [0, a[0]] : a;
    const out: number[] = [];
    for (let s = start; s < stop && out.length <= 64; s++) out.push(s);
    return out;
  }
  throw new ArchitectureError(`${field}: expected a list of states or range(start, stop)`);
}

/** Parses DARTS' `Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...)` text. */
export function parseGenotype(text: string): Genotype {
  if (typeof text !== 'string') throw new ArchitectureError('genotype text must be a string');
  const fields = new Parser(tokenize(text)).genotypeCall();
  for (const name of fields.keys()) {
    if (!(FIELDS as readonly string[]).includes(name)) {
      throw new ArchitectureError(`genotype text: unknown field '${name}' (expected ${FIELDS.join(', ')})`);
    }
  }
  for (const name of FIELDS) {
    if (!fields.has(name)) throw new ArchitectureError(`genotype text: missing field '${name}'`);
  }
  const normal = toPairs('normal', fields.get('normal')!);
  const reduce = toPairs('reduce', fields.get('reduce')!);
  const normalConcat = toConcat('normal_concat', fields.get('normal_concat')!);
  const reduceConcat = toConcat('reduce_concat', fields.get('reduce_concat')!);
  return makeGenotype({ normal, normalConcat, reduce, reduceConcat } as Genotype);
}

function formatPairs(pairs: readonly DartsPair[]): string {
  return `[${pairs.map(([op, i]) => `('${op}', ${i})`).join(', ')}]`;
}

/** DARTS' repr of a Genotype (single quotes, concat as a list); parseGenotype inverts it. */
export function formatGenotype(g: Genotype): string {
  validateGenotype(g);
  return (
    `Genotype(normal=${formatPairs(g.normal)}, normal_concat=[${g.normalConcat.join(', ')}], ` +
    `reduce=${formatPairs(g.reduce)}, reduce_concat=[${g.reduceConcat.join(', ')}])`
  );
}

/** True when two genotypes are the same pair lists and concats (pair order matters). */
export function genotypesEqual(a: Genotype, b: Genotype): boolean {
  const same = (x: readonly DartsPair[], y: readonly DartsPair[]) =>
    x.length === y.length && x.every(([op, i], k) => op === y[k][0] && i === y[k][1]);
  const sameList = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((v, k) => v === y[k]);
  return same(a.normal, b.normal) && same(a.reduce, b.reduce) && sameList(a.normalConcat, b.normalConcat) && sameList(a.reduceConcat, b.reduceConcat);
}
