/**
 * Evaluation by lookup in the NAS-Bench-201 table: the tabular benchmark
 * stands in for training, so searches can be run and compared in
 * milliseconds. The default feedback is the 12-epoch cifar10-valid accuracy
 * and the default cost its simulated time, as NATS-Bench's
 * `simulate_train_eval` (hp=12) and HNAS' NB201 experiments use them; the
 * 200-epoch test accuracies go in `report` so the final answer can be judged
 * on numbers the search never saw.
 */
import { ArchitectureError, InvalidArgumentError, UnsupportedError } from '../../errors.js';
import { formatNb201, parseNb201 } from '../../spaces/nb201/archString.js';
import { NB201_NUMERIC_COLUMNS, isNb201Column, loadNb201Table, type Nb201Column, type Nb201Table } from '../../spaces/nb201/benchmarkTable.js';
import { throwIfAborted } from '../history.js';
import type { Candidate, Evaluation, EvaluationContext, Evaluator } from '../types.js';

/** The columns every BenchmarkEvaluator result reports. */
export const BENCHMARK_REPORT_COLUMNS = ['c10_test_200', 'c100_test_200', 'in16_test_200'] as const satisfies readonly Nb201Column[];

export interface BenchmarkEvaluatorOptions {
  /** Column fed back to the search as `accuracy` (percent). Default `c10v_valid_12`. */
  feedback?: Nb201Column;
  /** Column used as `cost` (seconds). Default `c10v_hp12_cost_s`. */
  cost?: Nb201Column;
  /** Table to read. Default: the bundled one (`loadNb201Table()`). */
  table?: Nb201Table;
}

export class BenchmarkEvaluator implements Evaluator {
  readonly name: string;
  readonly feedback: Nb201Column;
  readonly costColumn: Nb201Column;
  readonly table: Nb201Table;

  constructor(options: BenchmarkEvaluatorOptions = {}) {
    this.feedback = checkColumn('feedback', options.feedback ?? 'c10v_valid_12');
    this.costColumn = checkColumn('cost', options.cost ?? 'c10v_hp12_cost_s');
    this.table = options.table ?? loadNb201Table();
    this.name = `nb201-benchmark(${this.feedback})`;
  }

  /**
   * The candidate's row: `index` when given (then `arch`, if not empty, must
   * be that index's architecture), else the row of `arch`. A DARTS candidate
   * is an UnsupportedError; a malformed or mismatching one an ArchitectureError.
   */
  async evaluate(candidate: Candidate, context: EvaluationContext): Promise<Evaluation> {
    throwIfAborted(context.signal, `benchmark lookup (step ${context.step})`);
    const index = this.indexOf(candidate);
    const row = this.table.row(index);
    const report: Record<string, number> = {};
    for (const column of BENCHMARK_REPORT_COLUMNS) report[column] = row[column];
    return { accuracy: row[this.feedback], cost: row[this.costColumn], report };
  }

  /** The benchmark index of a candidate (see `evaluate`). */
  indexOf(candidate: Candidate): number {
    if (candidate.space !== 'nb201') {
      throw new UnsupportedError(`${this.name} looks up NAS-Bench-201 architectures; got a candidate of space "${candidate.space}"`);
    }
    if (candidate.index === undefined) return this.table.indexOf(candidate.arch);
    const stored = this.table.archAt(candidate.index);
    if (candidate.arch !== '' && candidate.arch !== stored && formatNb201(parseNb201(candidate.arch)) !== stored) {
      throw new ArchitectureError(`candidate index ${candidate.index} is ${stored} in the benchmark, but its arch is ${candidate.arch}`);
    }
    return candidate.index;
  }
}

function checkColumn(option: string, name: unknown): Nb201Column {
  if (!isNb201Column(name)) {
    throw new InvalidArgumentError(
      `BenchmarkEvaluator ${option}: unknown NAS-Bench-201 column ${JSON.stringify(name)}; expected one of ${NB201_NUMERIC_COLUMNS.join(', ')}`,
    );
  }
  return name;
}
