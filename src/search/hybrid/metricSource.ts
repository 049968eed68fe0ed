/**
 * Where the hybrid search gets M and κ of a candidate: score files written
 * by `hnas score` (the table shipped in the package, or the user's), and,
 * for what they lack, the probe itself — each computed row appended to a
 * cache file, so that a rerun or a resumed search never scores twice.
 *
 * NB201 rows are looked up by isomorphism class: a table scored with
 * `--unique` (one cell per class) serves every cell of the class.
 */
import { JsonlWriter } from '../../io/jsonlWriter.js';
import { scoreRowKey, toScoreRow, type ScoreRow, type ScoreSettings } from '../../cli/commands/score.js';
import { InvalidArgumentError } from '../../errors.js';
import { isMetricId } from '../../metrics/index.js';
import { readScoreFiles, type ScoreRecord } from '../../score/scoreFile.js';
import { score } from '../../score/score.js';
import type { ProbeBatch } from '../../metrics/index.js';
import { loadNb201Table, type Nb201Table } from '../../spaces/nb201/benchmarkTable.js';
import { conditionOf } from '../../analysis/unification.js';
import type { Candidate } from '../types.js';
import type { Device } from '../../native/device.js';

export interface CandidateMetrics {
  /** M (null when the metric failed). */
  m: number | null;
  /** κ, null for a singular Θ or a failure. */
  kappa: number | null;
  /** Seconds the probe took (the training-free cost), 0 when the file did not record it. */
  seconds: number;
}

export interface MetricSourceOptions {
  /** M's metric id (default ntk_trace). */
  metric?: string;
  /** κ's metric id (default ntk_cond). */
  conditionMetric?: string;
  /** Score files to read first (merged, later files win). */
  files?: readonly string[];
  /** Where rows computed on demand are appended (resumable JSONL); without it nothing is computed. */
  cacheFile?: string;
  /** Settings for rows computed on demand (batch, data, seeds, dtype). */
  settings?: ScoreSettings;
  /** The batch those rows are probed on (must match `settings`). */
  batch?: ProbeBatch;
  /** Where rows computed on demand are probed (auto | cpu | cuda; default HNAS_DEVICE, else auto). */
  device?: Device;
}

export class MetricSource {
  readonly metric: string;
  readonly conditionMetric: string;
  readonly #nb201: Nb201Table;
  readonly #byKey = new Map<string, CandidateMetrics>();
  #cache: JsonlWriter<ScoreRow> | undefined;
  readonly #settings: ScoreSettings | undefined;
  readonly #batch: ProbeBatch | undefined;
  readonly #device: Device | undefined;
  /** Rows computed by this source (not read from files). */
  computed = 0;

  private constructor(options: MetricSourceOptions) {
    this.metric = options.metric ?? 'ntk_trace';
    this.conditionMetric = options.conditionMetric ?? 'ntk_cond';
    for (const id of [this.metric, this.conditionMetric]) {
      if (!isMetricId(id)) throw new InvalidArgumentError(`unknown metric "${id}"`);
    }
    this.#nb201 = loadNb201Table();
    this.#settings = options.settings;
    this.#batch = options.batch;
    this.#device = options.device;
  }

  static async open(options: MetricSourceOptions): Promise<MetricSource> {
    const source = new MetricSource(options);
    if (options.files && options.files.length > 0) {
      const table = await readScoreFiles(options.files);
      for (const row of table.rows) source.#add(row);
    }
    if (options.cacheFile) {
      if (!options.settings || !options.batch) throw new InvalidArgumentError('a metric cache file needs the settings and batch to score with');
      source.#cache = await JsonlWriter.open<ScoreRow>(options.cacheFile, { key: scoreRowKey });
      for (const row of source.#cache.rows.values()) source.#add(row);
    }
    return source;
  }

  /** The lookup key: NB201 isomorphism class, else the space and text. */
  keyOf(candidate: Pick<Candidate, 'space' | 'arch' | 'index'>): string {
    if (candidate.space === 'nb201') {
      const index = candidate.index ?? this.#nb201.indexOf(candidate.arch);
      return `nb201|${this.#nb201.isoClassAt(index)}`;
    }
    return `${candidate.space}|${candidate.arch}`;
  }

  #add(row: ScoreRecord): void {
    if (!(this.metric in row.metrics) || !(this.conditionMetric in row.metrics)) return;
    const m = row.metrics[this.metric];
    const entry: CandidateMetrics = {
      m: typeof m === 'number' && Number.isFinite(m) && !row.errors?.[this.metric] ? m : null,
      kappa: conditionOf(row, this.conditionMetric),
      seconds: typeof row.seconds === 'number' && Number.isFinite(row.seconds) ? row.seconds : 0,
    };
    const key = row.space === 'nb201' || row.space === 'darts' ? this.keyOf(row as Candidate) : `${row.space}|${row.arch}`;
    this.#byKey.set(key, entry);
  }

  has(candidate: Candidate): boolean {
    return this.#byKey.has(this.keyOf(candidate));
  }

  /** The values known without computing, or undefined. */
  peek(candidate: Candidate): CandidateMetrics | undefined {
    return this.#byKey.get(this.keyOf(candidate));
  }

  /** Candidates (of `candidates`) with no values yet. */
  missing(candidates: readonly Candidate[]): Candidate[] {
    const seen = new Set<string>();
    return candidates.filter((c) => {
      const key = this.keyOf(c);
      if (this.#byKey.has(key) || seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }

  /**
   * Scores `candidates` that have no values (one probe each, rows appended to
   * the cache file); `onProgress` sees each finished one.
   */
  async compute(candidates: readonly Candidate[], onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<void> {
    const todo = this.missing(candidates);
    if (todo.length === 0) return;
    if (!this.#cache || !this.#settings || !this.#batch) {
      throw new InvalidArgumentError(
        `${todo.length} candidates have no ${this.metric}/${this.conditionMetric} in the score files and no cache file was given to compute them (e.g. ${todo[0].arch})`,
      );
    }
    const metrics = [this.metric, this.conditionMetric];
    for (let i = 0; i < todo.length; i++) {
      signal?.throwIfAborted();
      const c = todo[i];
      const { channels, cells } = this.#settings;
      const result = await score(c.arch, {
        space: c.space,
        metrics,
        data: this.#batch,
        initSeed: this.#settings.initSeed,
        dtype: this.#settings.dtype,
        architecture: { ...(channels !== undefined ? { channels } : {}), ...(cells !== undefined ? { cells } : {}) },
        device: this.#device,
      });
      const row = toScoreRow(c, result, this.#settings);
      await this.#cache.append(row);
      this.#add(row);
      this.computed++;
      onProgress?.(i + 1, todo.length);
    }
  }

  async close(): Promise<void> {
    await this.#cache?.close();
  }
}
