/**
 * Checking probe results against the PyTorch fixtures (test/fixtures/nb201,
 * README §4 for the definitions, §8 for the tolerances): shared by the CPU
 * metric tests (test/native/metrics.test.ts) and the device ones
 * (test/native/cudaFixtures.test.ts), so both hold the same tolerances.
 */
import { expect } from 'vitest';
import { METRIC_IDS, type MetricId, type MetricResult } from '../../src/metrics/index.js';
import { relDiff } from './allClose.js';
import { expected, fixtureBatch, tolerances, FIXTURES, type Expected, type FixtureName } from './fixtures.js';

// Tolerances, with the reason for each.
const f32Table = tolerances().f32_engine as Record<string, { rtol: number }>;
export const TOL = {
  // A float64 engine: the same math in another summation order (README §8).
  f64: 1e-8,
  // Signed sums with cancellation (README §8, "grasp, plain need the loosest").
  f64Signed: 1e-7,
  // Condition numbers amplify Θ's rounding by κ (README §8).
  f64Cond: (kappa: number) => Math.max(1e-8, 1e-13 * Math.abs(kappa)),
  // float32 engine: the README §8 rtol column (4 × torch-f32's worst deviation);
  // condition numbers there assume Θ and its eigenvalues in float64, as here.
  f32: (id: MetricId) => f32Table[id].rtol,
};
const SIGNED = new Set<MetricId>(['grasp', 'plain']);
const CONDITION = new Set<MetricId>(['ntk_cond', 'te_nas_cond']);
/** Computed by the two engine requests added alongside this file; kept apart so the rest can be verified alone. */
export const KERNEL_METRICS: readonly MetricId[] = ['naswot', 'naswot_distinct', 'fisher'];
/** Exact per-sample Θ costs one backward per sample (20–90 s per fixture in float64): the two smallest and one mid. */
export const TE_NAS_FIXTURES = new Set<FixtureName>(['1835_seed0', '7581_seed0', '4948_seed0']);
const TE_NAS: readonly MetricId[] = ['te_nas_cond', 'te_nas_trace'];
/** zico has no reference value; it is checked against the explicit computation on a small network below. */
const NO_REFERENCE: readonly MetricId[] = ['zico'];

export const batch32 = fixtureBatch();
export const batch64 = { input: Float64Array.from(batch32.input), labels: batch32.labels };

const worst = new Map<string, { dev: number; fixture: string }>();
function record(key: string, dev: number, fixture: string): void {
  const w = worst.get(key);
  if (!w || dev > w.dev) worst.set(key, { dev, fixture });
}
/** With HNAS_METRICS_REPORT=1: prints the worst relative deviation per metric (call it from afterAll). */
export function reportWorstDeviations(): void {
  if (!process.env.HNAS_METRICS_REPORT) return;
  const lines = [...worst.entries()].sort(([a], [b]) => a.localeCompare(b));
  console.log(lines.map(([k, v]) => `${k.padEnd(34)} ${v.dev.toExponential(2)}  (${v.fixture})`).join('\n'));
}

/**
 * float32 tolerance of an eigenvalue extra (jacob_cov's λ of the 64×64
 * correlation matrix), which README §8 does not tabulate: its rule applied to
 * the torch float32 pipeline's own deviations recorded in expected.json — 4 ×
 * the worst over the fixtures, rounded up to 1/2/5·10^k — and never tighter
 * than the metric's. (λ_min moves 3.4e-3 in torch's float32 run of 376_seed0,
 * where the score moves 1e-4: the score's 5e-4 does not bound it.)
 */
function f32EigenTolerance(id: MetricId, key: 'lambda_min' | 'lambda_max'): number {
  let worst = 0;
  for (const f of FIXTURES) worst = Math.max(worst, expected(f).metrics[id][key].rel_diff_f32 as number);
  return Math.max(TOL.f32(id), roundUp125(4 * worst));
}

function roundUp125(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

export function okResult(id: MetricId, r: MetricResult | undefined): { value: number; extras: Record<string, number | boolean> } {
  expect(r, id).toBeDefined();
  if (!r!.ok) throw new Error(`${id} failed: ${r!.error.code}: ${r!.error.message}`);
  return { value: r!.value, extras: r!.extras ?? {} };
}

function expectClose(key: string, fixture: string, got: number, ref: number, rtol: number): void {
  const dev = relDiff(got, ref);
  record(key, dev, fixture);
  expect(dev, `${key}: ${got} vs ${ref}`).toBeLessThanOrEqual(rtol);
}

/** One metric of one probe against expected.json → metrics[id], its extras included. */
export function checkMetric(name: FixtureName, exp: Expected, id: MetricId, r: MetricResult | undefined, precision: 'f64' | 'f32'): void {
  const { value, extras } = okResult(id, r);
  const ref = exp.metrics[id];
  const tag = `${id} ${precision}`;
  if (CONDITION.has(id)) {
    // Our Θ and eigenvalues are float64 in both precisions, so the float64 flag applies.
    expect(extras.singular, `${id} singular`).toBe(ref.singular.f64);
    if (ref.singular.f64) return; // the ratio is meaningless (README §6): compare the flag only
    const rtol = precision === 'f64' ? TOL.f64Cond(ref.f64) : TOL.f32(id);
    expectClose(tag, name, value, ref.f64, rtol);
    expectClose(`${tag} lambda_min`, name, extras.lambda_min as number, ref.lambda_min.f64, rtol);
    expectClose(`${tag} lambda_max`, name, extras.lambda_max as number, ref.lambda_max.f64, precision === 'f64' ? TOL.f64 : TOL.f32(id));
    return;
  }
  if (id === 'params' || id === 'macs') {
    expect(value).toBe(ref); // plain integers in expected.json
    return;
  }
  let rtol: number;
  if (id === 'synflow' || id === 'log_synflow') rtol = TOL.f64; // always a float64 copy
  else if (precision === 'f32') rtol = TOL.f32(id);
  else rtol = SIGNED.has(id) ? TOL.f64Signed : TOL.f64;
  expectClose(tag, name, value, ref.f64, rtol);
  switch (id) {
    case 'ntk_trace':
      expectClose(`${tag} theta_trace`, name, extras.theta_trace as number, ref.theta_trace.f64, rtol);
      break;
    case 'synflow':
      expectClose(`${tag} R`, name, extras.R as number, ref.R.f64, rtol);
      break;
    case 'jacob_cov': {
      const extraTol = (key: 'lambda_min' | 'lambda_max') => (precision === 'f32' ? f32EigenTolerance(id, key) : rtol);
      expectClose(`${tag} lambda_min`, name, extras.lambda_min as number, ref.lambda_min.f64, extraTol('lambda_min'));
      expectClose(`${tag} lambda_max`, name, extras.lambda_max as number, ref.lambda_max.f64, extraTol('lambda_max'));
      break;
    }
    case 'naswot':
      expect(extras.sign).toBe(ref.sign);
      expect(extras.num_relus).toBe(ref.num_relus);
      expect(extras.units_per_sample).toBe(ref.units_per_sample);
      break;
    case 'naswot_distinct':
      expect(extras.sign).toBe(ref.sign);
      expect(extras.num_distinct_relu_inputs).toBe(ref.num_distinct_relu_inputs);
      expect(extras.units_per_sample).toBe(ref.units_per_sample);
      break;
    default:
  }
}

export function fixtureMetrics(name: FixtureName, teNas: boolean): { core: MetricId[]; kernel: MetricId[] } {
  const core = METRIC_IDS.filter(
    (id) => !KERNEL_METRICS.includes(id) && !NO_REFERENCE.includes(id) && (teNas || !TE_NAS.includes(id)),
  );
  return { core, kernel: [...KERNEL_METRICS] };
}
