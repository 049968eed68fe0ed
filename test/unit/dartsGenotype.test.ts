/**
 * DARTS genotypes: parsing and formatting against 725 real NAS-Bench-301
 * genotype strings (test/fixtures/darts/PROVENANCE.md), validation errors,
 * and the two samplers (uniform; HNAS = DARTS' derivation from random α).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ArchitectureError } from '../../src/errors.js';
import { Rng } from '../../src/spaces/rng.js';
import {
  DARTS_OPS,
  DARTS_PRIMITIVES,
  DARTS_V2,
  deriveGenotype,
  formatGenotype,
  genotypesEqual,
  parseGenotype,
  sampleDartsAlphas,
  sampleGenotypeHnas,
  sampleGenotypeUniform,
  validateGenotype,
  type DartsAlphas,
  type Genotype,
} from '../../src/spaces/darts/index.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'darts');

interface Nb301Row {
  genotype: string;
  /** NASLib's encoding: per cell, (input, op index into DARTS_OPS) pairs. */
  compact: [number, number][][];
  params: number;
}

function readNb301(): Nb301Row[] {
  const lines = readFileSync(join(FIXTURES, 'nb301_genotypes.csv'), 'utf8').trim().split('\n');
  expect(lines[0]).toBe('genotype,naslib_compact,params');
  return lines.slice(1).map((line) => {
    const m = /^"([^"]*)","([^"]*)",([0-9.]+)$/.exec(line);
    if (!m) throw new Error(`unreadable fixture line: ${line.slice(0, 80)}`);
    const cells = m[2].slice(1, -1).split('], [').map((cell) =>
      [...cell.matchAll(/\((\d+), (\d+)\)/g)].map((p) => [Number(p[1]), Number(p[2])] as [number, number]),
    );
    return { genotype: m[1], compact: cells, params: Number(m[3]) };
  });
}

const V2_TEXT =
  "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), " +
  "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], " +
  "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), " +
  "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])";

/** Throws an ArchitectureError whose message matches. */
function expectArchError(fn: () => unknown, message: string | RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'expected an ArchitectureError').toBeInstanceOf(ArchitectureError);
  const e = caught as ArchitectureError;
  expect(e.code).toBe('ERR_HNAS_INVALID_ARCHITECTURE');
  expect(e.name).toBe('ArchitectureError');
  if (typeof message === 'string') expect(e.message).toContain(message);
  else expect(e.message).toMatch(message);
}

/** Checks the DARTS-space rules directly (independently of validateGenotype). */
function expectInSpace(g: Genotype): void {
  for (const pairs of [g.normal, g.reduce]) {
    expect(pairs).toHaveLength(8);
    for (let node = 0; node < 4; node++) {
      const [a, b] = [pairs[2 * node], pairs[2 * node + 1]];
      for (const [op, input] of [a, b]) {
        expect(DARTS_OPS).toContain(op);
        expect(input).toBeGreaterThanOrEqual(0);
        expect(input).toBeLessThan(node + 2);
      }
      expect(a[1]).not.toBe(b[1]);
    }
  }
  expect(g.normalConcat).toEqual([2, 3, 4, 5]);
  expect(g.reduceConcat).toEqual([2, 3, 4, 5]);
}

describe('parseGenotype / formatGenotype', () => {
  const rows = readNb301();

  it('reads all 725 NAS-Bench-301 genotypes, matching NASLib’s compact encoding, and format∘parse is the identity', () => {
    expect(rows).toHaveLength(725);
    for (const row of rows) {
      const g = parseGenotype(row.genotype);
      expect(formatGenotype(g)).toBe(row.genotype);
      const cells = [g.normal, g.reduce];
      for (let c = 0; c < 2; c++) {
        expect(cells[c].map(([op, input]) => [input, DARTS_OPS.indexOf(op)])).toEqual(row.compact[c]);
      }
      expect(genotypesEqual(parseGenotype(formatGenotype(g)), g)).toBe(true);
    }
  });

  it('DARTS-V2 formats to DARTS’ repr and round-trips', () => {
    expect(formatGenotype(DARTS_V2)).toBe(V2_TEXT);
    expect(genotypesEqual(parseGenotype(V2_TEXT), DARTS_V2)).toBe(true);
    expect(genotypesEqual(parseGenotype(formatGenotype(DARTS_V2)), DARTS_V2)).toBe(true);
  });

  it('accepts range(2, 6), double quotes, tuples, trailing commas and any whitespace', () => {
    const loose = `Genotype(
      normal = (("sep_conv_3x3", 0), ("sep_conv_3x3",1),("sep_conv_3x3", 0), ('sep_conv_3x3', 1),
                ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2),),
      normal_concat = range(2, 6),
      reduce=[("max_pool_3x3",0),("max_pool_3x3",1),("skip_connect",2),("max_pool_3x3",1),
              ("max_pool_3x3",0),("skip_connect",2),("skip_connect",2),("max_pool_3x3",1)],
      reduce_concat=range(2,6)
    )\n`;
    const g = parseGenotype(loose);
    expect(genotypesEqual(g, DARTS_V2)).toBe(true);
    expect(formatGenotype(g)).toBe(V2_TEXT);
  });

  it('keeps a concat other than [2, 3, 4, 5] in its order', () => {
    const text = V2_TEXT.replace('reduce_concat=[2, 3, 4, 5]', 'reduce_concat=[4, 2, 5]');
    const g = parseGenotype(text);
    expect(g.reduceConcat).toEqual([4, 2, 5]);
    expect(formatGenotype(g)).toBe(text);
  });

  it('returns frozen genotypes', () => {
    const g = parseGenotype(V2_TEXT);
    expect(Object.isFrozen(g)).toBe(true);
    expect(Object.isFrozen(g.normal)).toBe(true);
    expect(Object.isFrozen(g.normal[0])).toBe(true);
  });
});

describe('malformed genotypes throw ArchitectureError naming the cell and node', () => {
  const pairsOf = (text: string, cell: 'normal' | 'reduce') => /=\[(\(.*?\))\]/g.exec(text.slice(text.indexOf(`${cell}=`)))![1];

  it('wrong number of pairs', () => {
    const reducePairs = pairsOf(V2_TEXT, 'reduce');
    const six = reducePairs.split('), (').slice(0, 6).join('), (') + ')';
    expectArchError(() => parseGenotype(V2_TEXT.replace(reducePairs, six)), 'reduce cell has 6 (op, input) pairs, expected 8');
    const normalPairs = pairsOf(V2_TEXT, 'normal');
    expectArchError(
      () => parseGenotype(V2_TEXT.replace(normalPairs, `${normalPairs}, ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)`)),
      'normal cell has 10 (op, input) pairs, expected 8',
    );
  });

  it('an input that is not an earlier state', () => {
    expectArchError(
      () => parseGenotype(V2_TEXT.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 6)")),
      'normal cell, node 3: input 6 is not an earlier state (0–4)',
    );
    expectArchError(
      () => parseGenotype(V2_TEXT.replace("reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)", "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 2)")),
      'reduce cell, node 0: input 2 is not an earlier state (0–1)',
    );
    expectArchError(
      () => parseGenotype(V2_TEXT.replace("('skip_connect', 0), ('skip_connect', 0)", "('skip_connect', 0), ('skip_connect', -1)")),
      'normal cell, node 3: input -1 is not an earlier state (0–4)',
    );
  });

  it('an unknown op, and `none`', () => {
    expectArchError(
      () => parseGenotype(V2_TEXT.replace("reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2)", "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('conv_7x7', 2)")),
      "reduce cell, node 1: unknown op 'conv_7x7'",
    );
    expectArchError(
      () => parseGenotype(V2_TEXT.replace("normal=[('sep_conv_3x3', 0)", "normal=[('none', 0)")),
      "normal cell, node 0: op 'none' is a search candidate only",
    );
  });

  it('a node reading the same state twice', () => {
    expectArchError(
      () => parseGenotype(V2_TEXT.replace("('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1)", "('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1)")),
      'normal cell, node 1: both inputs are state 0',
    );
  });

  it('missing, unknown or repeated fields and bad concats', () => {
    const noReduce = V2_TEXT.replace(/, reduce=\[.*?\]\)?(?=, reduce_concat)/, '');
    expect(noReduce).not.toContain('reduce=');
    expectArchError(() => parseGenotype(noReduce), "missing field 'reduce'");
    expectArchError(() => parseGenotype(V2_TEXT.replace('normal_concat', 'normal_cat')), "unknown field 'normal_cat'");
    expectArchError(() => parseGenotype(V2_TEXT.replace('reduce_concat=', 'normal_concat=')), "field 'normal_concat' given twice");
    expectArchError(() => parseGenotype(V2_TEXT.replace('normal_concat=[2, 3, 4, 5]', 'normal_concat=[0, 1]')), 'normal_concat: 0 is not an intermediate state (2–5)');
    expectArchError(() => parseGenotype(V2_TEXT.replace('reduce_concat=[2, 3, 4, 5]', 'reduce_concat=range(2, 7)')), 'reduce_concat: 6 is not an intermediate state');
    expectArchError(() => parseGenotype(V2_TEXT.replace('reduce_concat=[2, 3, 4, 5]', 'reduce_concat=[2, 2]')), 'reduce_concat: state 2 is listed twice');
    expectArchError(() => parseGenotype(V2_TEXT.replace('reduce_concat=[2, 3, 4, 5]', 'reduce_concat=[]')), 'reduce_concat must be a non-empty list');
    expectArchError(() => parseGenotype(V2_TEXT.replace("('skip_connect', 2), ('max_pool_3x3', 1)]", "('skip_connect', 2), 'max_pool_3x3']")), 'reduce cell, node 3: entry 7 is not');
  });

  it('garbage', () => {
    for (const text of ['', 'hello', 'Genotype', 'Genotype(', `${V2_TEXT} extra`, V2_TEXT.slice(0, -1), V2_TEXT.replace("'sep_conv_3x3'", "'sep_conv_3x3"), 'Genotype(normal=[1; 2])', '{"normal": []}']) {
      expectArchError(() => parseGenotype(text), /^genotype text: /);
    }
    expectArchError(() => parseGenotype(42 as unknown as string), 'must be a string');
  });

  it('formatGenotype and validateGenotype check hand-built objects too', () => {
    const bad: Genotype = { ...DARTS_V2, normal: DARTS_V2.normal.slice(0, 7) };
    expectArchError(() => formatGenotype(bad), 'normal cell has 7 (op, input) pairs, expected 8');
    expectArchError(() => validateGenotype({ ...DARTS_V2, reduce: [...DARTS_V2.reduce.slice(0, 7), ['sep_conv_3x3', 1.5]] } as Genotype), 'reduce cell, node 3: input 1.5');
  });
});

describe('sampleGenotypeUniform', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = Array.from({ length: 5 }, (_, s) => formatGenotype(sampleGenotypeUniform(new Rng(s))));
    const b = Array.from({ length: 5 }, (_, s) => formatGenotype(sampleGenotypeUniform(new Rng(s))));
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(5);
  });

  it('pins seed 0 (a change detector for the draw order)', () => {
    expect(formatGenotype(sampleGenotypeUniform(new Rng(0)))).toBe(
      "Genotype(normal=[('sep_conv_5x5', 1), ('skip_connect', 0), ('sep_conv_3x3', 2), ('dil_conv_3x3', 0), ('sep_conv_3x3', 1), ('dil_conv_5x5', 3), ('sep_conv_5x5', 1), ('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('avg_pool_3x3', 1), ('sep_conv_3x3', 3), ('dil_conv_3x3', 2), ('max_pool_3x3', 0), ('skip_connect', 3)], reduce_concat=[2, 3, 4, 5])",
    );
  });

  it('gives valid genotypes with distinct inputs, covering ops and inputs about uniformly', () => {
    const rng = new Rng(11);
    const n = 1000;
    const opCount = new Map<string, number>();
    const inputCount = Array.from({ length: 4 }, (_, node) => new Array<number>(node + 2).fill(0));
    for (let i = 0; i < n; i++) {
      const g = sampleGenotypeUniform(rng);
      expectInSpace(g);
      for (const pairs of [g.normal, g.reduce]) {
        pairs.forEach(([op, input], j) => {
          opCount.set(op, (opCount.get(op) ?? 0) + 1);
          inputCount[Math.floor(j / 2)][input]++;
        });
      }
    }
    // 1000 genotypes · 16 ops: 16000 draws, 1/7 each (σ ≈ 44); each state of node k is read with probability 2/(k + 2).
    for (const op of DARTS_OPS) expect(Math.abs(opCount.get(op)! - 16000 / 7)).toBeLessThan(300);
    inputCount.forEach((counts, node) => {
      for (const c of counts) expect(Math.abs(c / (2 * n) - 2 / (node + 2))).toBeLessThan(0.05);
    });
  });
});

/** One row of 8 logits in DARTS_PRIMITIVES order, zero except the named ones. */
function row(values: Partial<Record<(typeof DARTS_PRIMITIVES)[number], number>> = {}): number[] {
  return DARTS_PRIMITIVES.map((p) => values[p] ?? 0);
}

describe('deriveGenotype (DARTS’ _parse) and sampleGenotypeHnas', () => {
  it('follows DARTS’ rule on a hand-computed case', () => {
    // Edges per node: 0 ← 0, 1 | 1 ← 0, 1, 2 | 2 ← 0..3 | 3 ← 0..4. Strength of an edge = its largest non-`none` softmax weight.
    const alphas: DartsAlphas = {
      normal: [
        // node 0: edge 0's `none` is largest but never chosen; its best op dil_conv_5x5 has e/(e³+e+6) ≈ 0.094,
        // edge 1's max_pool e/(e+7) ≈ 0.280 is stronger, so it comes first.
        row({ none: 3, dil_conv_5x5: 1 }),
        row({ max_pool_3x3: 1 }),
        // node 1: edge from 0 ties avg_pool and sep_conv_3x3 (first maximum, avg_pool, wins; weight ≈ 0.356);
        // edge from 1 has the largest raw logit (3) but softmax 0.454; edge from 2 (2.5) has 0.635: ranking is by softmax.
        row({ sep_conv_3x3: 2, avg_pool_3x3: 2 }),
        row({ skip_connect: 3, sep_conv_5x5: 2.9 }),
        row({ dil_conv_3x3: 2.5 }),
        // node 2: all uniform: ties keep the lower input, and the first non-`none` op (max_pool).
        row(), row(), row(), row(),
        // node 3: inputs 2 and 4 tie at e/(e+7); the lower input comes first.
        row(), row(), row({ avg_pool_3x3: 1 }), row(), row({ avg_pool_3x3: 1 }),
      ],
      reduce: [
        row(), row({ skip_connect: 1 }),
        row(), row(), row({ sep_conv_3x3: 1 }),
        row(), row(), row(), row({ dil_conv_5x5: 1 }),
        // node 3: `none` = 10 makes input 1 the weakest edge.
        row(), row({ none: 10 }), row(), row({ sep_conv_5x5: 0.5 }), row(),
      ],
    };
    const g = deriveGenotype(alphas);
    // Checked against DARTS' model_search.py _parse (numpy softmax) on the same α.
    expect(g.normal).toEqual([
      ['max_pool_3x3', 1], ['dil_conv_5x5', 0],
      ['dil_conv_3x3', 2], ['skip_connect', 1],
      ['max_pool_3x3', 0], ['max_pool_3x3', 1],
      ['avg_pool_3x3', 2], ['avg_pool_3x3', 4],
    ]);
    expect(g.reduce).toEqual([
      ['skip_connect', 1], ['max_pool_3x3', 0],
      ['sep_conv_3x3', 2], ['max_pool_3x3', 0],
      ['dil_conv_5x5', 3], ['max_pool_3x3', 0],
      ['sep_conv_5x5', 3], ['max_pool_3x3', 0],
    ]);
    expect(g.normalConcat).toEqual([2, 3, 4, 5]);
  });

  it('on random α: each kept edge takes its argmax non-`none` op, and no dropped edge is stronger', () => {
    const rng = new Rng(3);
    for (let t = 0; t < 200; t++) {
      const alphas = sampleDartsAlphas(rng);
      const g = deriveGenotype(alphas);
      expectInSpace(g);
      for (const [cell, pairs] of [[alphas.normal, g.normal], [alphas.reduce, g.reduce]] as const) {
        let start = 0;
        for (let node = 0; node < 4; node++) {
          const n = node + 2;
          const strength = (i: number) => {
            const r = cell[start + i];
            const m = Math.max(...r);
            const z = r.reduce((s, v) => s + Math.exp(v - m), 0);
            return Math.max(...r.slice(1).map((v) => Math.exp(v - m) / z));
          };
          const kept = [pairs[2 * node], pairs[2 * node + 1]];
          for (const [op, input] of kept) {
            const r = cell[start + input];
            const best = DARTS_OPS[r.slice(1).indexOf(Math.max(...r.slice(1)))];
            expect(op).toBe(best);
          }
          expect(strength(kept[0][1])).toBeGreaterThanOrEqual(strength(kept[1][1]));
          for (let i = 0; i < n; i++) {
            if (i !== kept[0][1] && i !== kept[1][1]) expect(strength(i)).toBeLessThanOrEqual(strength(kept[1][1]));
          }
          start += n;
        }
      }
    }
  });

  it('sampleGenotypeHnas is deterministic per seed, valid, and equals deriveGenotype of the sampled α', () => {
    for (let s = 0; s < 20; s++) {
      const g = sampleGenotypeHnas(new Rng(s));
      expectInSpace(g);
      expect(formatGenotype(sampleGenotypeHnas(new Rng(s)))).toBe(formatGenotype(g));
      expect(genotypesEqual(deriveGenotype(sampleDartsAlphas(new Rng(s))), g)).toBe(true);
    }
    expect(new Set(Array.from({ length: 20 }, (_, s) => formatGenotype(sampleGenotypeHnas(new Rng(s))))).size).toBe(20);
    expect(formatGenotype(sampleGenotypeHnas(new Rng(0)))).toBe(
      "Genotype(normal=[('avg_pool_3x3', 1), ('sep_conv_5x5', 0), ('dil_conv_5x5', 1), ('sep_conv_5x5', 0), ('sep_conv_5x5', 3), ('avg_pool_3x3', 2), ('sep_conv_5x5', 3), ('dil_conv_3x3', 4)], normal_concat=[2, 3, 4, 5], reduce=[('dil_conv_3x3', 0), ('dil_conv_5x5', 1), ('avg_pool_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2), ('dil_conv_5x5', 3), ('sep_conv_5x5', 0), ('sep_conv_5x5', 1)], reduce_concat=[2, 3, 4, 5])",
    );
  });

  it('rejects α of the wrong shape or with non-finite values', () => {
    const ok = sampleDartsAlphas(new Rng(1));
    expectArchError(() => deriveGenotype({ ...ok, normal: ok.normal.slice(0, 13) }), 'normal alphas: expected 14 edges, got 13');
    expectArchError(() => deriveGenotype({ ...ok, reduce: ok.reduce.map((r, e) => (e === 5 ? r.slice(1) : r)) }), 'reduce alphas, edge 5: expected 8 logits');
    expectArchError(() => deriveGenotype({ ...ok, reduce: ok.reduce.map((r, e) => (e === 2 ? [...r.slice(1), NaN] : r)) }), 'reduce alphas, edge 2: logits must be finite');
    expect(() => sampleDartsAlphas(new Rng(1), { alphaStd: 0 })).toThrow(/alphaStd must be a positive number/);
  });
});
