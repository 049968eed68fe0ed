/**
 * `hnas score`: training-free metrics of many architectures, one JSONL row
 * each, written incrementally and atomically so a rerun resumes.
 *
 *   hnas score <arch...>                 NB201 strings or indices; DARTS genotypes with --space darts
 *   hnas score --sample K --seed S       K unique NB201 indices (DARTS: K uniform genotypes)
 *   hnas score --all --shard i/n         every NB201 index with index % n == i
 *   hnas score --all --unique            one NB201 index per isomorphism class (6,466 rows)
 *
 * All architectures are validated before any scoring starts. A metric that
 * fails on one architecture is recorded in that row's "errors"; scoring goes on.
 */
import { createHash } from 'node:crypto';
import { Command } from 'commander';
import type { DType } from '../../engine/network.js';
import { InvalidArgumentError, ShapeMismatchError } from '../../errors.js';
import { JsonlWriter } from '../../io/jsonlWriter.js';
import { parseMetricList, type MetricError, type MetricId, type ProbeBatch } from '../../metrics/index.js';
import { setNumThreads } from '../../native/buildInfo.js';
import { readOnnxFile } from '../../onnx/importOnnx.js';
import { loadProbeBatch, parseInputShape, readRawBatch, type DataSource } from '../../score/probeBatch.js';
import { score, type ScoreResult, type ScoreTarget } from '../../score/score.js';
import { SPACES, buildArchitecture, type SpaceName } from '../../spaces/architecture.js';
import { formatGenotype, parseGenotype } from '../../spaces/darts/genotype.js';
import { sampleGenotypeUniform } from '../../spaces/darts/sampling.js';
import { loadNb201Table, sampleNb201Indices } from '../../spaces/nb201/index.js';
import { Rng } from '../../spaces/rng.js';
import { DEVICES, engineDevice, type Device, type ResolvedDevice } from '../../native/device.js';
import { DEVICE_OPTION_HELP, choiceOption, intOption } from '../options.js';
import { formatCsv, formatTable } from '../tableFormat.js';
import { Progress } from '../progress.js';

export const SCORE_FORMATS = ['jsonl', 'table', 'json', 'csv'] as const;
export type ScoreFormat = (typeof SCORE_FORMATS)[number];

export interface ScoreSettings {
  batch: number;
  dtype: DType;
  dataSeed: number;
  initSeed: number;
  data: string;
  /** Network size when not the space's default (--channels / --cells). */
  channels?: number;
  cells?: number;
}

/** A row's space: a search space, or `onnx` for a user's model (then `arch` is the model's path). */
export type ScoreRowSpace = SpaceName | 'onnx';

export interface ScoreRow {
  [field: string]: unknown;
  space: ScoreRowSpace;
  arch: string;
  index?: number;
  metrics: Record<string, number | null>;
  errors?: Record<string, MetricError>;
  /** Per-metric extras the probe reports (e.g. ntk_cond's `singular`, naswot's `sign`). */
  extras?: Record<string, Record<string, number | boolean>>;
  timings: Record<string, number>;
  seconds: number;
  settings: ScoreSettings;
}

/** `${space}|${arch}|${hash of the settings and the metric ids}`: rows scored differently never match. */
export function scoreRowKey(row: Pick<ScoreRow, 'space' | 'arch' | 'settings' | 'metrics'>): string {
  const s = row.settings;
  if (typeof row.space !== 'string' || typeof row.arch !== 'string' || !s || typeof s !== 'object' || !row.metrics) {
    throw new InvalidArgumentError('a score row needs space, arch, settings and metrics');
  }
  const size = s.channels !== undefined || s.cells !== undefined ? [s.channels ?? null, s.cells ?? null] : [];
  const canonical = JSON.stringify([s.batch, s.dtype, s.dataSeed, s.initSeed, s.data ?? 'default', Object.keys(row.metrics).sort(), ...size]);
  const hash = createHash('sha256').update(canonical).digest('hex').slice(0, 16);
  return `${row.space}|${row.arch}|${hash}`;
}

interface ScoreOptions {
  device?: Device;
  space: SpaceName;
  sample?: number;
  seed: number;
  all?: boolean;
  unique?: boolean;
  threads?: number;
  shard?: { i: number; n: number };
  metrics: string;
  batch: number;
  data: string;
  dataSeed: number;
  initSeed: number;
  dtype: DType;
  out?: string;
  format: ScoreFormat;
  onnx?: string;
  input?: string;
  labels?: string;
  inputShape?: { sampleShape: number[]; batch?: number };
  channels?: number;
  cells?: number;
}

interface Job {
  space: ScoreRowSpace;
  arch: string;
  index?: number;
}

export function parseShard(value: string): { i: number; n: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  const i = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(i) || !Number.isSafeInteger(n) || n < 1 || i >= n) {
    throw new InvalidArgumentError(`--shard must be i/n with 0 <= i < n, got "${value}"`);
  }
  return { i, n };
}

/** The architectures to score, canonicalised and validated (typed errors for malformed input). */
function resolveJobs(archs: string[], o: ScoreOptions): Job[] {
  const sources = [archs.length > 0, o.sample !== undefined, o.all === true, o.onnx !== undefined].filter(Boolean).length;
  if (sources !== 1) {
    throw new InvalidArgumentError('give architectures, or --sample K, or --all, or --onnx FILE (exactly one of them)');
  }
  if (o.onnx !== undefined) return [{ space: 'onnx', arch: o.onnx }];
  let jobs: Job[];
  if (o.space === 'nb201') {
    const table = loadNb201Table();
    let indices: number[];
    if (o.all) indices = Array.from({ length: table.size }, (_, i) => i);
    else if (o.sample !== undefined) indices = sampleNb201Indices(new Rng(o.seed), o.sample, { unique: true });
    else indices = archs.map((a) => (/^\s*\d+\s*$/.test(a) ? (table.archAt(Number(a)), Number(a)) : table.indexOf(a.trim())));
    if (o.unique) {
      // Isomorphic cells compute the same function class; the lowest index stands for its class.
      const seenClass = new Set<string>();
      indices = indices.filter((index) => {
        const key = table.isoClassAt(index);
        if (seenClass.has(key)) return false;
        seenClass.add(key);
        return true;
      });
    }
    jobs = indices.map((index) => ({ space: 'nb201', arch: table.archAt(index), index }));
  } else {
    if (o.all) throw new InvalidArgumentError('--all enumerates NB201 only; use --sample with --space darts');
    if (o.unique) throw new InvalidArgumentError('--unique applies to NB201 isomorphism classes only');
    if (o.sample !== undefined) {
      const rng = new Rng(o.seed);
      jobs = Array.from({ length: o.sample }, () => ({ space: 'darts', arch: formatGenotype(sampleGenotypeUniform(rng)) }));
    } else {
      jobs = archs.map((a) => {
        buildArchitecture('darts', a, { channels: 1, cells: 1 }); // the same checks buildArchitecture makes later
        return { space: 'darts', arch: formatGenotype(parseGenotype(a)) };
      });
    }
  }
  if (o.shard) {
    const { i, n } = o.shard;
    jobs = jobs.filter((job, position) => (job.index ?? position) % n === i);
  }
  return jobs;
}

/** The one batch every architecture of this run is probed on. */
async function loadBatch(o: ScoreOptions, sampleShape: readonly number[], numClasses: number): Promise<ProbeBatch> {
  if (o.input !== undefined || o.labels !== undefined) {
    if (o.input === undefined || o.labels === undefined) throw new InvalidArgumentError('--input and --labels go together');
    const raw = await readRawBatch(o.input, o.labels, sampleShape);
    const declared = o.inputShape?.batch;
    if (declared !== undefined && declared !== raw.labels.length) {
      throw new ShapeMismatchError(`--input-shape says N=${declared} but ${o.input} holds ${raw.labels.length} samples`);
    }
    return loadProbeBatch(raw, { size: raw.labels.length, seed: o.dataSeed, dtype: o.dtype, sampleShape, numClasses });
  }
  if (!['default', 'gaussian'].includes(o.data) && !o.data.startsWith('cifar:')) {
    throw new InvalidArgumentError(`--data must be default, gaussian or cifar:<file>, got "${o.data}"`);
  }
  return loadProbeBatch(o.data as DataSource, { size: o.batch, seed: o.dataSeed, dtype: o.dtype, sampleShape, numClasses });
}

async function scoreOne(job: Job, batch: ProbeBatch, metrics: MetricId[], settings: ScoreSettings, device: ResolvedDevice): Promise<ScoreRow> {
  const target: ScoreTarget = job.space === 'onnx' ? { onnx: job.arch } : job.arch;
  const result = await score(target, {
    ...(job.space === 'onnx' ? {} : { space: job.space }),
    metrics,
    data: batch,
    initSeed: settings.initSeed,
    dtype: settings.dtype,
    architecture: { channels: settings.channels, cells: settings.cells },
    device,
  });
  return toScoreRow(job, result, settings);
}

/** The JSONL row of one scored architecture (also what the hybrid search's on-demand cache appends). */
export function toScoreRow(job: { space: ScoreRowSpace; arch: string; index?: number }, result: ScoreResult, settings: ScoreSettings): ScoreRow {
  const has = (o: object): boolean => Object.keys(o).length > 0;
  return {
    space: job.space,
    arch: job.arch,
    ...(job.index !== undefined ? { index: job.index } : {}),
    metrics: result.metrics as Record<string, number | null>,
    ...(has(result.errors) ? { errors: result.errors as Record<string, MetricError> } : {}),
    ...(has(result.extras) ? { extras: result.extras as Record<string, Record<string, number | boolean>> } : {}),
    timings: result.timings as Record<string, number>,
    seconds: result.seconds,
    settings,
  };
}

function formatRows(rows: ScoreRow[], metrics: MetricId[], format: Exclude<ScoreFormat, 'jsonl'>): string {
  if (format === 'json') return JSON.stringify(rows, null, 2);
  const header = ['space', 'arch', 'index', ...metrics, 'seconds'];
  const body = rows.map((r) => [r.space, r.arch, r.index ?? '', ...metrics.map((m) => r.metrics[m] ?? ''), r.seconds.toFixed(3)]);
  return format === 'csv' ? formatCsv(header, body) : formatTable(header, body);
}

export function scoreCommand(): Command {
  return new Command('score')
    .description('score architectures with training-free metrics; JSONL rows written incrementally, resumable')
    .argument('[arch...]', 'NB201: architecture strings or benchmark indices; DARTS: Genotype(...) texts')
    .option('-s, --space <space>', `search space: ${SPACES.join(' | ')}`, choiceOption('--space', SPACES), 'nb201')
    .option('--sample <K>', 'score K sampled architectures (NB201: unique benchmark indices)', intOption('--sample', 1))
    .option('--seed <S>', 'seed of --sample', intOption('--seed', 0), 0)
    .option('--all', 'score all 15,625 NB201 architectures (with --shard to split the work)')
    .option('--unique', 'NB201: keep one index per isomorphism class (the lowest); a row stands for its class')
    .option('--threads <n>', 'native worker threads (default: all cores)', intOption('--threads', 1))
    .option('--shard <i/n>', 'keep only architectures whose index (position for DARTS) % n == i', parseShard)
    .option('-m, --metrics <list>', 'metric ids or groups (hnas, all), comma-separated', 'hnas')
    .option('-b, --batch <N>', 'images per probe batch', intOption('--batch', 1), 64)
    .option('--data <source>', 'default (bundled CIFAR-10 sample) | gaussian | cifar:<file>', 'default')
    .option('--data-seed <n>', 'seed of the batch rows (or Gaussian draws)', intOption('--data-seed', 0), 0)
    .option('--init-seed <n>', 'network initialisation seed', intOption('--init-seed', 0), 0)
    .option('--dtype <dtype>', 'float32 | float64', choiceOption('--dtype', ['float32', 'float64'] as const), 'float32')
    .option('--channels <C>', 'initial channels (NB201 default 16; DARTS default 36, the search proxy 16)', intOption('--channels', 1))
    .option('--cells <N>', 'NB201: cells per stage (default 5); DARTS: total cells (default 20, the search proxy 5)', intOption('--cells', 1))
    .option('--onnx <file>', 'score an ONNX model (its own weights) instead of space architectures')
    .option('--input <file>', 'raw little-endian float32 NCHW input batch (with --labels)')
    .option('--labels <file>', 'raw little-endian int32 labels, one per sample of --input')
    .option('--input-shape <shape>', 'N,C,H,W or C,H,W of --input, checked against the model', parseInputShape)
    .option('-o, --out <file>', 'JSONL file to append rows to; rows already there are skipped')
    .option('--format <format>', `${SCORE_FORMATS.join(' | ')} (table/json/csv print to stdout at the end)`, choiceOption('--format', SCORE_FORMATS), 'jsonl')
    .option('--device <device>', DEVICE_OPTION_HELP, choiceOption('--device', DEVICES))
    .action(async (archs: string[], o: ScoreOptions) => {
      const device = engineDevice(o.device);
      const metrics = parseMetricList(o.metrics);
      if (o.threads !== undefined) setNumThreads(o.threads);
      const jobs = resolveJobs(archs, o);
      const first = jobs[0];
      const size = { ...(o.channels !== undefined ? { channels: o.channels } : {}), ...(o.cells !== undefined ? { cells: o.cells } : {}) };
      const firstSpec = !first ? undefined : first.space === 'onnx' ? await readOnnxFile(first.arch) : buildArchitecture(first.space, first.arch, size);
      const sampleShape = firstSpec?.input.shape ?? [3, 32, 32];
      if (o.inputShape && o.inputShape.sampleShape.join(',') !== sampleShape.join(',')) {
        throw new ShapeMismatchError(`--input-shape [${o.inputShape.sampleShape.join(', ')}] differs from the model's input [${sampleShape.join(', ')}]`);
      }
      const numClasses = firstSpec?.output.shape[0] ?? 10;
      const batch = await loadBatch(o, sampleShape, numClasses);
      const data = o.input !== undefined ? `raw:${o.input}` : o.data;
      const settings: ScoreSettings = { batch: batch.labels.length, dtype: o.dtype, dataSeed: o.dataSeed, initSeed: o.initSeed, data, ...size };
      const keyOf = (job: Job): string => scoreRowKey({ space: job.space, arch: job.arch, settings, metrics: Object.fromEntries(metrics.map((m) => [m, null])) });

      const writer = o.out ? await JsonlWriter.open<ScoreRow>(o.out, { key: scoreRowKey }) : undefined;
      const rows = new Map<string, ScoreRow>();
      try {
        const seen = new Set<string>();
        const todo: Job[] = [];
        let skipped = 0;
        for (const job of jobs) {
          const key = keyOf(job);
          if (seen.has(key)) continue;
          seen.add(key);
          const done = writer?.rows.get(key);
          if (done) {
            rows.set(key, done);
            skipped++;
          } else todo.push(job);
        }
        const progress = new Progress({ total: todo.length, skipped });
        let failures = 0;
        for (const job of todo) {
          const row = await scoreOne(job, batch, metrics, settings, device);
          if (row.errors) failures++;
          if (writer) await writer.append(row);
          else if (o.format === 'jsonl') console.log(JSON.stringify(row));
          rows.set(keyOf(job), row);
          progress.tick();
        }
        const dropped = writer?.droppedLines ? `; dropped a torn last line of ${o.out}` : '';
        progress.finish(`${failures ? `, ${failures} with failed metrics` : ''}${o.out ? ` -> ${o.out}` : ''}${dropped}`);
      } finally {
        await writer?.close();
      }
      if (o.format !== 'jsonl') {
        const ordered = [...new Set(jobs.map(keyOf))].map((k) => rows.get(k)!);
        console.log(formatRows(ordered, metrics, o.format));
      }
    });
}
