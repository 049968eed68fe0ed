/**
 * `hnas bench`: metric throughput on this machine. For each metric, and for
 * the whole probe of all of them, architectures per second and the achieved
 * GFLOP/s of the native computations (src/bench/flopModel.ts), with the
 * settings that produced them (batch, threads, dtype, GEMM kernel, device).
 * Network construction is timed apart from the probe: it is the same for
 * every metric.
 */
import { cpus } from 'node:os';
import { Command } from 'commander';
import { needFlops, type FlopInputs } from '../../bench/flopModel.js';
import { Network, type DType } from '../../engine/network.js';
import { InvalidArgumentError } from '../../errors.js';
import { METRICS, parseMetricList, probe, teNasParams, type MetricId, type ProbeBatch, type ProbeNeed } from '../../metrics/index.js';
import { loadAddon } from '../../native/binding.js';
import { buildInfo, setNumThreads } from '../../native/buildInfo.js';
import { loadProbeBatch } from '../../score/probeBatch.js';
import { SPACES, buildArchitecture, type SpaceName } from '../../spaces/architecture.js';
import { formatGenotype } from '../../spaces/darts/genotype.js';
import { sampleGenotypeUniform } from '../../spaces/darts/sampling.js';
import { loadNb201Table, sampleNb201Indices } from '../../spaces/nb201/index.js';
import { Rng } from '../../spaces/rng.js';
import type { GraphSpec } from '../../engine/graphSpec.js';
import { DEVICES, engineDevice, type Device, type ResolvedDevice } from '../../native/device.js';
import { DEVICE_OPTION_HELP, choiceOption, intOption } from '../options.js';
import { formatTable } from '../tableFormat.js';

/** Every metric except the exact per-sample ones (one backward per sample: minutes per architecture). */
const DEFAULT_METRICS = Object.keys(METRICS).filter((id) => !METRICS[id as MetricId].needs.includes('theta_exact')).join(',');

interface BenchOptions {
  device?: Device;
  space: SpaceName;
  sample: number;
  seed: number;
  metrics: string;
  batch: number;
  dtype: DType;
  threads?: number;
  peak?: boolean;
  format: 'table' | 'json';
}

export interface BenchRow {
  /** A metric id, or `probe` for all metrics in one probe. */
  what: string;
  needs: ProbeNeed[];
  archsPerSecond: number;
  secondsPerArch: number;
  /** Model FLOPs of the needs over the measured time (null for forward-free metrics). */
  gflops: number | null;
  /** Against the measured FMA peak, when --peak. */
  percentOfPeak?: number;
}

export interface BenchReport {
  settings: {
    space: SpaceName;
    architectures: string[];
    batch: number;
    dtype: DType;
    threads: number;
    device: ResolvedDevice;
    gemm: string;
    cpuFeatures: string;
    cpu: string;
  };
  /** Seconds to build and initialise one network, averaged. */
  buildSecondsPerArch: number;
  peakGflops?: number;
  rows: BenchRow[];
}

function needsOf(metrics: readonly MetricId[]): ProbeNeed[] {
  return [...new Set(metrics.flatMap((m) => METRICS[m].needs))];
}

function flopInputs(network: Network, batch: number): FlopInputs {
  const size = (ps: { size: number }[]): number => ps.reduce((s, p) => s + p.size, 0);
  return {
    macsPerSample: network.macsPerSample,
    batch,
    thetaParams: size(network.selectParams('weights_and_biases')),
    teNasParams: size(network.params.filter((p) => p.trainable && teNasParams(p))),
  };
}

function architectures(o: BenchOptions): string[] {
  const rng = new Rng(o.seed);
  if (o.space === 'nb201') {
    const table = loadNb201Table();
    return sampleNb201Indices(rng, o.sample, { unique: true }).map((i) => table.archAt(i));
  }
  return Array.from({ length: o.sample }, () => formatGenotype(sampleGenotypeUniform(rng)));
}

/** Times one probe per architecture for `metrics`; networks are built beforehand. */
async function timeProbe(
  specs: GraphSpec[],
  networks: Network[],
  batch: ProbeBatch,
  metrics: MetricId[],
): Promise<{ seconds: number; flops: number }> {
  const needs = needsOf(metrics);
  let seconds = 0;
  let flops = 0;
  for (let i = 0; i < networks.length; i++) {
    const wantsSynflow = needs.includes('synflow');
    const start = performance.now();
    await probe(networks[i], batch, metrics, wantsSynflow ? { synflowNetwork: specs[i] } : {});
    seconds += (performance.now() - start) / 1000;
    const x = flopInputs(networks[i], batch.labels.length);
    flops += needs.reduce((s, n) => s + needFlops(n, x), 0);
  }
  return { seconds, flops };
}

export async function runBench(o: BenchOptions, onRow?: (row: BenchRow) => void): Promise<BenchReport> {
  if (o.threads !== undefined) setNumThreads(o.threads);
  const metrics = parseMetricList(o.metrics);
  const archs = architectures(o);
  const buildStart = performance.now();
  const specs = archs.map((a) => buildArchitecture(o.space, a));
  const device = engineDevice(o.device);
  const networks = specs.map((s, i) => Network.create(s, { dtype: o.dtype, name: archs[i], device }));
  const buildSecondsPerArch = (performance.now() - buildStart) / 1000 / archs.length;
  const info = buildInfo();
  const report: BenchReport = {
    settings: {
      space: o.space,
      architectures: archs,
      batch: o.batch,
      dtype: o.dtype,
      threads: info.threads,
      device,
      gemm: info.gemmKernel,
      cpuFeatures: info.cpuFeatures,
      cpu: cpus()[0]?.model ?? 'unknown',
    },
    buildSecondsPerArch,
    rows: [],
  };
  try {
    const batch = await loadProbeBatch('default', { size: o.batch, seed: 0, dtype: o.dtype, sampleShape: networks[0].inputShape, numClasses: networks[0].numClasses });
    if (o.peak) report.peakGflops = loadAddon().measurePeak(0, 0.5, o.dtype === 'float64');
    // One untimed probe of everything: first-touch allocations and the buffer pool's warm-up.
    await timeProbe(specs.slice(0, 1), networks.slice(0, 1), batch, metrics);
    const groups: [string, MetricId[]][] = [...metrics.map((m): [string, MetricId[]] => [m, [m]]), ['probe', metrics]];
    for (const [what, ids] of groups) {
      const { seconds, flops } = await timeProbe(specs, networks, batch, ids);
      const row: BenchRow = {
        what,
        needs: needsOf(ids),
        archsPerSecond: archs.length / seconds,
        secondsPerArch: seconds / archs.length,
        gflops: flops > 0 ? flops / 1e9 / seconds : null,
      };
      if (report.peakGflops && row.gflops !== null) row.percentOfPeak = (100 * row.gflops) / report.peakGflops;
      report.rows.push(row);
      onRow?.(row);
    }
  } finally {
    for (const n of networks) n.dispose();
  }
  return report;
}

function formatReport(r: BenchReport): string {
  const s = r.settings;
  const lines = [
    `hnas bench: ${s.architectures.length} ${s.space} architectures, batch ${s.batch}, ${s.dtype}, ${s.threads} threads, device ${s.device}`,
    `GEMM ${s.gemm} (own kernels; no external BLAS), CPU ${s.cpu} [${s.cpuFeatures}]`,
    `network build + init: ${r.buildSecondsPerArch.toFixed(3)} s per architecture (not in the rates below)` +
      (r.peakGflops ? `; FMA peak ${r.peakGflops.toFixed(0)} GFLOP/s` : ''),
    '',
  ];
  const header = ['metric', 'arch/s', 's/arch', 'GFLOP/s', ...(r.peakGflops ? ['% peak'] : []), 'needs'];
  const body = r.rows.map((row) => [
    row.what,
    row.archsPerSecond.toPrecision(3),
    row.secondsPerArch.toPrecision(3),
    row.gflops === null ? '-' : row.gflops.toFixed(1),
    ...(r.peakGflops ? [row.percentOfPeak === undefined ? '-' : row.percentOfPeak.toFixed(0)] : []),
    row.needs.join('+') || '(none)',
  ]);
  lines.push(formatTable(header, body));
  lines.push('', 'GFLOP/s counts the dense arithmetic of the native passes (src/bench/flopModel.ts); element-wise passes are not counted.');
  return lines.join('\n');
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('metric throughput on this machine: architectures/s per metric and for the whole probe, with GFLOP/s')
    .option('-s, --space <space>', `search space: ${SPACES.join(' | ')}`, choiceOption('--space', SPACES), 'nb201')
    .option('--sample <K>', 'architectures to time (sampled uniformly)', intOption('--sample', 1), 5)
    .option('--seed <S>', 'seed of the sample', intOption('--seed', 0), 0)
    .option('-m, --metrics <list>', 'metric ids or groups (default: every metric except the TE-NAS exact-Θ pair)', DEFAULT_METRICS)
    .option('-b, --batch <N>', 'images per probe batch', intOption('--batch', 1), 64)
    .option('--dtype <dtype>', 'float32 | float64', choiceOption('--dtype', ['float32', 'float64'] as const), 'float32')
    .option('--threads <n>', 'native worker threads (default: all cores)', intOption('--threads', 1))
    .option('--peak', 'also measure the FMA peak and report % of it')
    .option('--format <format>', 'table | json', choiceOption('--format', ['table', 'json'] as const), 'table')
    .option('--device <device>', DEVICE_OPTION_HELP, choiceOption('--device', DEVICES))
    .action(async (o: BenchOptions) => {
      engineDevice(o.device);
      if (o.space === 'darts' && o.batch > 256) throw new InvalidArgumentError('--batch above 256 on DARTS networks needs tens of GiB');
      const progress = process.stderr.isTTY ? (row: BenchRow) => process.stderr.write(`  ${row.what}: ${row.archsPerSecond.toPrecision(3)} arch/s\n`) : undefined;
      const report = await runBench(o, progress);
      console.log(o.format === 'json' ? JSON.stringify(report, null, 2) : formatReport(report));
    });
}
