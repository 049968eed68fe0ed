/** NAS-Bench-201 space: strings, the benchmark table, isomorphism keys, sampling. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ArchitectureError, DataFormatError, FileNotFoundError, InvalidArgumentError } from '../../src/errors.js';
import { Rng } from '../../src/spaces/rng.js';
import {
  NB201_EDGES,
  NB201_NUMERIC_COLUMNS,
  NB201_OPS,
  formatNb201,
  isIsomorphicNb201,
  isomorphismKey,
  loadNb201Table,
  mutateNb201,
  nb201CellCode,
  nb201CellFromCode,
  nb201DataPath,
  neighboursNb201,
  parseNb201,
  sampleNb201,
  sampleNb201Indices,
  type Nb201Cell,
} from '../../src/spaces/nb201/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const DATA_DIR = join(here, '..', '..', 'data', 'nb201');
const CSV = join(DATA_DIR, 'nb201_accuracies.csv');
const CSV_SHA256 = '0a9c6914a36b207810550f16226c2078704f2ca21c407ce518e3a03600f3a1d4'; // data/nb201/PROVENANCE.md
const N = 15625;

const ARCH_13714 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|';
const ARCH_3558 = '|skip_connect~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|';

const table = () => loadNb201Table({ path: CSV });

/** Runs `fn`, expects an ArchitectureError, returns its message. */
function archErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ArchitectureError);
    expect((err as ArchitectureError).code).toBe('ERR_HNAS_INVALID_ARCHITECTURE');
    expect((err as ArchitectureError).name).toBe('ArchitectureError');
    return (err as Error).message;
  }
  throw new Error('expected an ArchitectureError, nothing was thrown');
}

describe('NB201 strings', () => {
  it('parses and formats the fixture architectures', () => {
    const a = parseNb201(ARCH_13714);
    expect(a).toEqual(['nor_conv_3x3', 'nor_conv_3x3', 'nor_conv_3x3', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3']);
    expect(formatNb201(a)).toBe(ARCH_13714);
    const b = parseNb201(ARCH_3558);
    expect(b).toEqual(['skip_connect', 'nor_conv_3x3', 'nor_conv_1x1', 'nor_conv_3x3', 'nor_conv_1x1', 'nor_conv_3x3']);
    expect(formatNb201(b)).toBe(ARCH_3558);
    expect(Object.isFrozen(a)).toBe(true);
    expect(table().indexOf(ARCH_13714)).toBe(13714);
    expect(table().indexOf(b)).toBe(3558);
  });

  it('has the documented op and edge order', () => {
    expect(NB201_OPS).toEqual(['none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3']);
    expect(NB201_EDGES).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    // The string lists edges in NB201_EDGES order: edge e's op carries ~from.
    const cell = NB201_OPS.slice(0, 5).concat(['none']) as Nb201Cell;
    const tokens = formatNb201(cell).split(/[|+]/).filter(Boolean);
    expect(tokens.map((t) => Number(t.split('~')[1]))).toEqual(NB201_EDGES.map(([from]) => from));
  });

  it('cell codes enumerate all 5^6 cells', () => {
    const seen = new Set<string>();
    for (let code = 0; code < N; code++) {
      const cell = nb201CellFromCode(code);
      if (nb201CellCode(cell) !== code) expect.fail(`code ${code} round-trips to ${nb201CellCode(cell)}`);
      seen.add(formatNb201(cell));
    }
    expect(seen.size).toBe(N);
  });

  const malformed: [what: string, input: string, message: RegExp][] = [
    ['empty string', '', /is empty/],
    ['missing leading pipe', 'nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|', /node 1: missing '\|' at the start/],
    ['missing trailing pipe', '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2', /node 3: missing '\|' at the end/],
    ['missing inner pipe', '|nor_conv_3x3~0|+|none~0none~1|+|none~0|none~1|none~2|', /node 2: expected 2 edges .*got 1/],
    ['two nodes', '|nor_conv_3x3~0|+|none~0|none~1|', /expected 3 nodes separated by '\+', got 2 nodes/],
    ['four nodes', '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|', /expected 3 nodes .* got 4 nodes/],
    ['wrong ~i', '|none~0|+|none~0|none~0|+|none~0|none~1|none~2|', /node 2, edge 2: expected input ~1, got ~0/],
    ['inputs out of order', '|none~0|+|none~0|none~1|+|none~0|none~2|none~1|', /node 3, edge 2: expected input ~1, got ~2/],
    ['missing ~i', '|none|+|none~0|none~1|+|none~0|none~1|none~2|', /node 1, edge 1: expected 'op~0', got "none"/],
    ['unknown op', '|none~0|+|none~0|conv_3x3~1|+|none~0|none~1|none~2|', /node 2, edge 2: unknown op "conv_3x3"/],
    ['extra edge', '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|none~3|', /node 3: expected 3 edges .*got 4/],
    ['leading whitespace', ' |none~0|+|none~0|none~1|+|none~0|none~1|none~2|', /unexpected whitespace " " at offset 0/],
    ['trailing newline', '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n', /unexpected whitespace "\\n" at offset 47/],
    ['inner space', '|none~0|+|none~0| none~1|+|none~0|none~1|none~2|', /unexpected whitespace " " at offset 17/],
    ['empty node', '|none~0|++|none~0|none~1|none~2|', /node 2 is empty/],
    ['missing op', '|~0|+|none~0|none~1|+|none~0|none~1|none~2|', /node 1, edge 1: missing op/],
    ['DARTS-style string', 'Genotype(normal=[])', /expected 3 nodes/],
  ];
  it.each(malformed)('rejects %s with ArchitectureError', (_what, input, message) => {
    const text = archErrorOf(() => parseNb201(input));
    expect(text).toMatch(message);
    expect(text).toContain(JSON.stringify(input)); // the string is quoted
  });

  it('rejects bad cells and non-strings', () => {
    expect(archErrorOf(() => formatNb201(['none', 'none'] as Nb201Cell))).toMatch(/expected 6 ops, got 2/);
    expect(archErrorOf(() => formatNb201(['none', 'none', 'conv', 'none', 'none', 'none'] as unknown as Nb201Cell))).toMatch(
      /edge 2 \(1→2\) has unknown op "conv"/,
    );
    expect(archErrorOf(() => parseNb201(42 as unknown as string))).toMatch(/expected a string, got number/);
    expect(archErrorOf(() => nb201CellFromCode(N))).toMatch(/out of range/);
  });
});

describe('NB201 benchmark table', () => {
  it('ships a verbatim copy of the shared CSV', () => {
    expect(createHash('sha256').update(readFileSync(CSV)).digest('hex')).toBe(CSV_SHA256);
  });

  it('finds the bundled CSV from the module location and caches the table', () => {
    expect(nb201DataPath()).toBe(CSV);
    const t = loadNb201Table();
    expect(t.path).toBe(CSV);
    expect(loadNb201Table()).toBe(t);
    expect(table()).toBe(t);
    expect(t.size).toBe(N);
  });

  it('round-trips all 15,625 indices: archAt → parse → format → indexOf', () => {
    const t = table();
    const seen = new Set<string>();
    for (let i = 0; i < N; i++) {
      const arch = t.archAt(i);
      const cell = parseNb201(arch);
      const formatted = formatNb201(cell);
      if (formatted !== arch || t.indexOf(formatted) !== i || t.indexOf(cell) !== i) {
        expect.fail(`index ${i} ${arch}: formats to ${formatted}, indexOf → ${t.indexOf(formatted)} / ${t.indexOf(cell)}`);
      }
      seen.add(arch);
    }
    expect(seen.size).toBe(N);
  });

  it('rows carry every column, and ochoa_sol agrees with arch_str', () => {
    const t = table();
    const r = t.row(13714);
    expect(r.index).toBe(13714);
    expect(r.arch).toBe(ARCH_13714);
    expect(r.isoClass).toBe(t.isoClassAt(13714));
    expect(r.ochoaSol).toBe('444234');
    expect(r.c10_test_200).toBeCloseTo(94.37333333, 8);
    for (const name of NB201_NUMERIC_COLUMNS) expect(Number.isFinite(r[name])).toBe(true);
    expect(Object.isFrozen(r)).toBe(true);
    for (let i = 0; i < N; i++) {
      const digits = t.cellAt(i).map((op) => NB201_OPS.indexOf(op) + 1).join('');
      if (digits !== t.row(i).ochoaSol) expect.fail(`index ${i}: ochoa_sol ${t.row(i).ochoaSol} vs arch ${digits}`);
    }
  });

  it('columns are Float64Arrays over all indices, copied', () => {
    const t = table();
    const c10 = t.column('c10_test_200');
    expect(c10).toBeInstanceOf(Float64Array);
    expect(c10.length).toBe(N);
    expect(c10[13714]).toBe(t.row(13714).c10_test_200);
    c10[0] = -1;
    expect(t.column('c10_test_200')[0]).not.toBe(-1);
    expect(() => t.column('nope' as never)).toThrow(InvalidArgumentError);
  });

  it('reproduces the known optima of the data README', () => {
    const t = table();
    const argmax = (name: (typeof NB201_NUMERIC_COLUMNS)[number]) => {
      const v = t.column(name);
      let best = 0;
      for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
      return { best, value: v[best], values: v };
    };
    const c10 = argmax('c10_test_200');
    expect(c10.best).toBe(6111);
    expect(c10.value).toBeCloseTo(94.3733, 4);
    expect(c10.values[13714]).toBe(c10.value); // tied
    expect(c10.values[9930]).toBeCloseTo(94.363, 3);
    const c100 = argmax('c100_test_200');
    expect(c100.best).toBe(9930);
    expect(c100.value).toBeCloseTo(73.5133, 4);
    const in16 = argmax('in16_test_200');
    expect(in16.best).toBe(857);
    expect(in16.value).toBeCloseTo(47.3111, 4);
    const c10v = argmax('c10v_valid_acc_200');
    expect(c10v.best).toBe(6111);
    expect(c10v.value).toBeCloseTo(91.6067, 4);
  });

  it.each([-1, N, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('index %s gives ArchitectureError', (index) => {
    const t = table();
    const msg = archErrorOf(() => t.archAt(index));
    expect(msg).toContain(String(index));
    expect(msg).toMatch(Number.isInteger(index) ? /out of range: expected an integer in 0\.\.15624/ : /is not an integer/);
    archErrorOf(() => t.row(index));
    archErrorOf(() => t.isoClassAt(index));
  });

  it('indexOf rejects malformed strings with ArchitectureError', () => {
    expect(archErrorOf(() => table().indexOf('|none~0|'))).toMatch(/expected 3 nodes/);
  });

  describe('malformed files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hnas-nb201-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const lines = readFileSync(CSV, 'utf8').split('\n');
    const write = (name: string, body: string[]) => {
      const path = join(dir, name);
      writeFileSync(path, body.join('\n'));
      return path;
    };
    const fails = (path: string, message: RegExp) => {
      try {
        loadNb201Table({ path });
      } catch (err) {
        expect(err).toBeInstanceOf(DataFormatError);
        expect((err as DataFormatError).code).toBe('ERR_HNAS_DATA_FORMAT');
        expect((err as Error).message).toMatch(message);
        return;
      }
      expect.fail(`${path} loaded`);
    };

    it('missing file → FileNotFoundError', () => {
      expect(() => loadNb201Table({ path: join(dir, 'absent.csv') })).toThrow(FileNotFoundError);
    });
    it('too few rows', () => fails(write('short.csv', lines.slice(0, 100)), /expected 15625 data rows, got 99/));
    it('index ≠ row number', () => {
      const swapped = [...lines];
      [swapped[5], swapped[6]] = [swapped[6], swapped[5]];
      fails(write('swapped.csv', swapped), /line 6: index column is "5", expected 4 \(rows must be in index order\)/);
    });
    it('wrong header', () => fails(write('header.csv', [lines[0].replace('iso_class', 'iso'), ...lines.slice(1)]), /column 2 is "iso"/));
    it('non-numeric field', () => {
      const body = [...lines];
      body[10] = body[10].replace(/,[^,]*$/, ',');
      fails(write('empty-field.csv', body), /line 11 \(index 9\): c10v_hp12_cost_s is "", expected a finite number/);
    });
    it('bad arch_str', () => {
      const body = [...lines];
      body[3] = body[3].replace('~1|', '~2|');
      fails(write('arch.csv', body), /line 4 \(index 2\): arch_str is not a valid architecture string/);
    });
  });
});

describe('NB201 isomorphism', () => {
  it('equals the table iso_class (NATS-Bench get_unique_str) for every index', () => {
    const t = table();
    for (let i = 0; i < N; i++) {
      const key = isomorphismKey(t.archAt(i));
      if (key !== t.isoClassAt(i)) expect.fail(`index ${i} ${t.archAt(i)}: key ${key} ≠ iso_class ${t.isoClassAt(i)}`);
    }
  });

  it('yields 6,466 classes, the same partition as the table', () => {
    const t = table();
    const byKey = new Map<string, number>(); // key → smallest index in the class
    const byIso = new Map<string, number>();
    let same = 0;
    for (let i = 0; i < N; i++) {
      const k = isomorphismKey(t.cellAt(i));
      const iso = t.isoClassAt(i);
      if (!byKey.has(k)) byKey.set(k, i);
      if (!byIso.has(iso)) byIso.set(iso, i);
      if (byKey.get(k) === byIso.get(iso)) same++;
    }
    expect(byKey.size).toBe(6466);
    expect(byIso.size).toBe(6466);
    expect(same).toBe(N); // each index has the same class representative under both
  });

  it('follows the documented rules', () => {
    // The README example (index 1).
    expect(isomorphismKey('|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|')).toBe(
      '((0)@nor_conv_3x3)@avg_pool_3x3+(0)@nor_conv_3x3+((0)@nor_conv_3x3)@nor_conv_3x3+0',
    );
    // Dead nodes: node 1 and node 2 do not feed node 3, so their ops are irrelevant.
    const dead = (a: string, b: string, c: string) => `|${a}~0|+|${b}~0|${c}~1|+|nor_conv_3x3~0|none~1|none~2|`;
    expect(isomorphismKey(dead('avg_pool_3x3', 'nor_conv_1x1', 'skip_connect'))).toBe(isomorphismKey(dead('none', 'none', 'nor_conv_3x3')));
    // Summation order does not matter; skip_connect is the identity.
    expect(isIsomorphicNb201(
      '|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|skip_connect~2|',
      '|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|none~1|skip_connect~2|',
    )).toBe(true);
    // Different ops on a live path are different functions.
    expect(isIsomorphicNb201(ARCH_13714, ARCH_3558)).toBe(false);
    // A disconnected cell is all zero.
    expect(isomorphismKey('|none~0|+|none~0|skip_connect~1|+|none~0|nor_conv_1x1~1|skip_connect~2|')).toBe('#+#+#+#');
  });
});

describe('NB201 sampling', () => {
  it('is deterministic per seed', () => {
    expect(sampleNb201(new Rng(7), 50)).toEqual(sampleNb201(new Rng(7), 50));
    expect(sampleNb201(new Rng(7), 50)).not.toEqual(sampleNb201(new Rng(8), 50));
    expect(sampleNb201Indices(new Rng(3), 100, { unique: true })).toEqual(sampleNb201Indices(new Rng(3), 100, { unique: true }));
    const r1 = new Rng(11);
    const r2 = new Rng(11);
    const cell = parseNb201(ARCH_13714);
    expect(mutateNb201(cell, r1)).toEqual(mutateNb201(cell, r2));
    expect(sampleNb201(new Rng(5))).toHaveLength(6);
  });

  it('samples cells roughly uniformly (chi-square, fixed seed)', () => {
    const rng = new Rng(2024);
    const draws = 4 * N;
    const counts = new Float64Array(N);
    const opCounts = Array.from({ length: 6 }, () => new Float64Array(5));
    for (const cell of sampleNb201(rng, draws)) {
      counts[nb201CellCode(cell)]++;
      cell.forEach((op, e) => opCounts[e][NB201_OPS.indexOf(op)]++);
    }
    // Over all 15,625 cells: chi² has mean 15,624 and sd ≈ 177 under uniformity.
    let chi = 0;
    for (const c of counts) chi += (c - 4) ** 2 / 4;
    expect(Math.abs(chi - (N - 1))).toBeLessThan(5 * Math.sqrt(2 * (N - 1)));
    // Per-edge op marginals: 4 degrees of freedom each, 18.5 is the 0.1 % tail.
    for (const ops of opCounts) {
      let c2 = 0;
      for (const c of ops) c2 += (c - draws / 5) ** 2 / (draws / 5);
      expect(c2).toBeLessThan(18.5);
    }
  });

  it('samples indices uniformly, with and without replacement', () => {
    const rng = new Rng(99);
    const k = 50_000;
    const idx = sampleNb201Indices(rng, k);
    expect(idx).toHaveLength(k);
    const buckets = new Float64Array(25);
    for (const i of idx) {
      if (!(Number.isInteger(i) && i >= 0 && i < N)) expect.fail(`index ${i} out of range`);
      buckets[Math.floor(i / 625)]++;
    }
    let chi = 0;
    for (const c of buckets) chi += (c - k / 25) ** 2 / (k / 25);
    expect(chi).toBeLessThan(51.2); // 24 dof, 0.1 % tail
    const all = sampleNb201Indices(rng, N, { unique: true });
    expect(new Set(all).size).toBe(N);
    expect(all.every((i) => Number.isInteger(i) && i >= 0 && i < N)).toBe(true);
    expect(all.slice(0, 10)).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sampleNb201Indices(rng, 0, { unique: true })).toEqual([]);
    expect(() => sampleNb201Indices(rng, N + 1, { unique: true })).toThrow(InvalidArgumentError);
    expect(() => sampleNb201Indices(rng, 1.5)).toThrow(InvalidArgumentError);
    expect(() => sampleNb201(rng, -1)).toThrow(InvalidArgumentError);
  });

  it('mutation changes exactly one edge to a different op', () => {
    const rng = new Rng(1);
    let cell = parseNb201(ARCH_3558);
    const editedEdges = new Set<number>();
    for (let step = 0; step < 500; step++) {
      const next = mutateNb201(cell, rng);
      const diff = next.flatMap((op, e) => (op !== cell[e] ? [e] : []));
      expect(diff).toHaveLength(1);
      editedEdges.add(diff[0]);
      expect(formatNb201(next)).not.toBe(formatNb201(cell));
      cell = next;
    }
    expect(editedEdges.size).toBe(6);
    expect(archErrorOf(() => mutateNb201('|bad|', rng))).toMatch(/expected 3 nodes/);
  });

  it('has 24 distinct neighbours in a fixed order', () => {
    const cell = parseNb201(ARCH_13714);
    const nb = neighboursNb201(cell);
    expect(nb).toHaveLength(24);
    expect(new Set(nb.map(formatNb201)).size).toBe(24);
    for (const n of nb) expect(n.filter((op, e) => op !== cell[e])).toHaveLength(1);
    expect(nb[0]).toEqual(['none', ...cell.slice(1)]);
    expect(nb[23]).toEqual([...cell.slice(0, 5), 'avg_pool_3x3']);
    expect(neighboursNb201(ARCH_13714).map(formatNb201)).toEqual(nb.map(formatNb201));
    expect(nb.map(formatNb201)).not.toContain(ARCH_13714);
  });
});
