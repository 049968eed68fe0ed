/**
 * The run log of a search: an append-only JSONL file, one line per step,
 * each written with one write and fdatasync (JsonlWriter), so `kill -9`
 * loses at most the step in flight. The first line records the settings; a
 * resumed run must have the same ones (otherwise it would not reach the
 * same answer), and continues after the last complete step.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

import { InvalidArgumentError } from '../errors.js';
import { JsonlWriter } from '../io/jsonlWriter.js';

export const RUN_LOG_VERSION = 1;

export interface RunLogHeader {
  [field: string]: unknown;
  kind: 'header';
  version: number;
  command: string;
  /** Everything that determines the result (JSON values only). */
  config: Record<string, unknown>;
}

export interface RunLogStep<S> {
  [field: string]: unknown;
  kind: 'step';
  step: number;
  record: S;
}

export interface RunLogResult {
  [field: string]: unknown;
  kind: 'result';
  result: Record<string, unknown>;
}

type Row<S> = RunLogHeader | RunLogStep<S> | RunLogResult;

function keyOf(row: Row<unknown>): string {
  if (row.kind === 'header' || row.kind === 'result') return row.kind;
  if (row.kind === 'step' && Number.isInteger(row.step)) return `step:${row.step}`;
  throw new InvalidArgumentError('a run-log line needs kind header, step (with an integer step) or result');
}

/** The first key whose value differs between two configs (JSON comparison), or null. */
function firstDifference(a: Record<string, unknown>, b: Record<string, unknown>): string | null {
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) return key;
  }
  return null;
}

export class RunLog<S> {
  readonly path: string;
  /** Steps already in the log, in order (0..n−1). */
  readonly steps: S[];
  /** The result line, when the logged run finished. */
  readonly result: Record<string, unknown> | undefined;
  readonly #writer: JsonlWriter<Row<S>>;

  private constructor(path: string, writer: JsonlWriter<Row<S>>, steps: S[], result: Record<string, unknown> | undefined) {
    this.path = path;
    this.#writer = writer;
    this.steps = steps;
    this.result = result;
  }

  /**
   * Opens `path` for a run with `config`. A log that already has steps is
   * continued only with `resume`; with `resume`, its header must match
   * `config` and its steps must be contiguous from 0.
   */
  static async open<S>(path: string, command: string, config: Record<string, unknown>, options: { resume: boolean }): Promise<RunLog<S>> {
    if (existsSync(path) && !options.resume) {
      const probe = await JsonlWriter.open<Row<S>>(path, { key: keyOf });
      const hasRows = probe.rows.size > 0;
      await probe.close();
      if (hasRows) throw new InvalidArgumentError(`run log ${path} exists: pass --resume to continue it, or choose another --log`);
    }
    await mkdir(dirname(path), { recursive: true });
    const writer = await JsonlWriter.open<Row<S>>(path, { key: keyOf });
    const header = writer.rows.get('header') as RunLogHeader | undefined;
    const normalised = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
    if (header) {
      const diff = header.command !== command ? 'command' : firstDifference(header.config, normalised);
      if (diff !== null) {
        await writer.close();
        throw new InvalidArgumentError(
          `run log ${path} was written with different settings (${diff}: ${JSON.stringify(header.config[diff] ?? header.command)} there, ${JSON.stringify(normalised[diff] ?? command)} now); resume with the same options`,
        );
      }
    } else {
      await writer.append({ kind: 'header', version: RUN_LOG_VERSION, command, config: normalised });
    }
    const steps: S[] = [];
    for (let i = 0; writer.rows.has(`step:${i}`); i++) steps.push((writer.rows.get(`step:${i}`) as RunLogStep<S>).record);
    const stepRows = [...writer.rows.keys()].filter((k) => k.startsWith('step:')).length;
    if (stepRows !== steps.length) {
      await writer.close();
      throw new InvalidArgumentError(`run log ${path} has a gap in its steps (steps 0..${steps.length - 1} then more)`);
    }
    const result = (writer.rows.get('result') as RunLogResult | undefined)?.result;
    return new RunLog(path, writer, steps, result);
  }

  async appendStep(step: number, record: S): Promise<void> {
    await this.#writer.append({ kind: 'step', step, record });
  }

  async appendResult(result: Record<string, unknown>): Promise<void> {
    if (!this.#writer.rows.has('result')) await this.#writer.append({ kind: 'result', result });
  }

  async close(): Promise<void> {
    await this.#writer.close();
  }
}
