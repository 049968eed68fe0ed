/**
 * The hybrid loop on a fixed NB201 pool with given metric values: each step's
 * pick is the argmin of the objective at that step's (c, t), the initial
 * design sweeps t at fixed c, failures are recorded and not observed, and a
 * replayed prefix continues to the identical run.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EvaluationError } from '../../src/errors.js';
import { CallbackEvaluator } from '../../src/search/evaluators/callback.js';
import { hybridSearch, type HybridOptions, type HybridStep } from '../../src/search/hybrid/hybridSearch.js';
import { MetricSource } from '../../src/search/hybrid/metricSource.js';
import { hybridObjective, objectiveWeights, OBJECTIVE_DEFAULTS } from '../../src/search/hybrid/objective.js';
import { CandidatePool } from '../../src/search/hybrid/pool.js';
import type { Candidate } from '../../src/search/types.js';
import { loadNb201Table } from '../../src/spaces/nb201/index.js';
import { Rng } from '../../src/spaces/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'hnas-hybrid-'));
const table = loadNb201Table();

/** 40 cells of distinct isomorphism classes with spread-out M and κ (one singular). */
function fixture(): { candidates: Candidate[]; values: Map<number, { m: number; kappa: number | null }>; file: string } {
  const rng = new Rng(123);
  const classes = new Set<string>();
  const candidates: Candidate[] = [];
  const values = new Map<number, { m: number; kappa: number | null }>();
  const rows: string[] = [];
  while (candidates.length < 40) {
    const index = rng.int(table.size);
    const iso = table.isoClassAt(index);
    if (classes.has(iso)) continue;
    classes.add(iso);
    const m = 5 + 95 * rng.next();
    const singular = candidates.length === 7;
    const kappa = singular ? null : 10 + 1000 * rng.next();
    candidates.push({ space: 'nb201', arch: table.archAt(index), index });
    values.set(index, { m, kappa });
    rows.push(JSON.stringify({
      space: 'nb201', arch: table.archAt(index), index,
      metrics: { ntk_trace: m, ntk_cond: singular ? 1e17 : kappa },
      ...(singular ? { extras: { ntk_cond: { singular: true } } } : {}),
      seconds: 0.5,
    }));
  }
  const file = join(dir, 'scores.jsonl');
  writeFileSync(file, rows.join('\n') + '\n');
  return { candidates, values, file };
}

const { candidates, values, file } = fixture();
const accuracyOf = (c: Candidate) => 60 + ((c.index! * 7919) % 3000) / 100; // a fixed "benchmark"

async function run(overrides: Partial<HybridOptions> = {}, fail?: (step: number) => boolean): Promise<HybridStep[]> {
  const metrics = await MetricSource.open({ files: [file] });
  const evaluator = new CallbackEvaluator((c, ctx) => {
    if (fail?.(ctx.step)) throw new EvaluationError('exit', `step ${ctx.step} failed on purpose`);
    return { accuracy: accuracyOf(c), cost: 100 };
  });
  const result = await hybridSearch({
    space: 'nb201',
    pool: new CandidatePool({ space: 'nb201', seed: 0, candidates }),
    metrics,
    seed: 3,
    iterations: 12,
    evaluator,
    budget: { evaluations: 12 },
    acquisitionCandidates: 2000,
    ...overrides,
  });
  return result.steps;
}

describe('hybrid objective', () => {
  it('maps (c, t) to μ = 10^c, ν = (t·scale)² and scores μ·|M² − ν| + κ/(M + 1e-6)', () => {
    const w = objectiveWeights(-2, 0.5, 5e3);
    expect(w.mu).toBeCloseTo(0.01, 15);
    expect(w.nu).toBe(2500 ** 2);
    expect(hybridObjective(10, 50, w)).toBeCloseTo(0.01 * Math.abs(100 - 6.25e6) + 50 / (10 + 1e-6), 9);
    expect(hybridObjective(10, null, w)).toBe(Infinity);
  });
});

describe('hybridSearch', () => {
  it('picks the argmin of the objective among unevaluated pool members at every step', async () => {
    const steps = await run();
    expect(steps).toHaveLength(12);
    const evaluated = new Set<number>();
    for (const s of steps) {
      const w = objectiveWeights(s.c, s.t, OBJECTIVE_DEFAULTS.nb201.scale);
      let best = Infinity;
      let argmin = -1;
      for (const c of candidates) {
        if (evaluated.has(c.index!)) continue;
        const v = values.get(c.index!)!;
        const obj = hybridObjective(v.m, v.kappa, w);
        if (obj < best) [best, argmin] = [obj, c.index!];
      }
      expect(s.candidate.index).toBe(argmin);
      expect(s.objective).toBeCloseTo(best, 9);
      expect(s.evaluation!.accuracy).toBe(accuracyOf(s.candidate));
      evaluated.add(s.candidate.index!);
    }
    expect(evaluated.has(candidates[7].index!)).toBe(false); // the singular Θ is never worth it here
    const best = Math.max(...steps.map((s) => s.evaluation!.accuracy));
    expect(steps.at(-1)!.bestSoFar!.accuracy).toBe(best);
    expect(steps.at(-1)!.cumulativeCost).toBe(1200);
  });

  it('starts with n0 = min(⌊T/4⌋, 10) design points: t swept over [0, 1] at c = −2', async () => {
    const steps = await run();
    const n0 = 3;
    expect(steps.slice(0, n0).map((s) => s.c)).toEqual([-2, -2, -2]);
    expect(steps.slice(0, n0).map((s) => s.t)).toEqual([0, 0.5, 1]);
    for (const s of steps.slice(n0)) {
      expect(s.c).toBeGreaterThanOrEqual(-4);
      expect(s.c).toBeLessThanOrEqual(0);
      expect(s.t).toBeGreaterThanOrEqual(0);
      expect(s.t).toBeLessThanOrEqual(1);
    }
  });

  it('is deterministic, and a replayed prefix continues to the identical run', async () => {
    const full = await run();
    const again = await run();
    expect(again).toEqual(full);
    const resumed = await run({ replay: full.slice(0, 5) });
    expect(resumed).toEqual(full);
  });

  it('refuses a replay that does not match its picks', async () => {
    const full = await run();
    const forged = full.slice(0, 2).map((s) => ({ ...s }));
    forged[1] = { ...forged[1], candidate: candidates.find((c) => c.index !== full[1].candidate.index && c.index !== full[0].candidate.index)! };
    await expect(run({ replay: forged })).rejects.toThrow(/run log does not match this search at step 1/);
  });

  it('records a failed evaluation, does not observe it, and takes the next-best pick at the same (c, t)', async () => {
    const steps = await run({}, (step) => step === 5);
    expect(steps[5].error?.code).toBe('ERR_HNAS_EVALUATION_FAILED');
    expect(steps[5].evaluation).toBeUndefined();
    expect([steps[6].c, steps[6].t]).toEqual([steps[5].c, steps[5].t]);
    expect(steps[6].candidate.index).not.toBe(steps[5].candidate.index);
    expect(steps[6].objective).toBeGreaterThanOrEqual(steps[5].objective);
    await expect(run({ onEvalError: 'stop' }, (step) => step === 5)).rejects.toThrow(/step 5 failed on purpose/);
  });
});

describe('CandidatePool', () => {
  it('grows an NB201 pool by K seeded uniform draws per step', () => {
    const a = new CandidatePool({ space: 'nb201', seed: 9, growth: 100 });
    const b = new CandidatePool({ space: 'nb201', seed: 9, growth: 100 });
    const first = a.grow();
    expect(first.length).toBeGreaterThan(95); // a few repeats among 100 draws of 15,625
    expect(first.length).toBeLessThanOrEqual(100);
    a.grow();
    b.grow();
    b.grow();
    expect(a.members.map((c) => c.index)).toEqual(b.members.map((c) => c.index));
    expect(new Set(a.members.map((c) => c.index)).size).toBe(a.size);
    for (const c of a.members) expect(c.arch).toBe(table.archAt(c.index!));
  });

  it('samples a fixed DARTS pool of distinct genotypes', () => {
    const pool = new CandidatePool({ space: 'darts', seed: 1, size: 50 });
    expect(pool.size).toBe(50);
    expect(new Set(pool.members.map((c) => c.arch)).size).toBe(50);
    expect(pool.grow()).toEqual([]);
  });
});
