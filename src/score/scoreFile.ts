/**
 * Reading `hnas score` output for analysis (correlate, unify, hybrid): one or
 * more JSONL files merged into one table of architectures × metrics. Files
 * scored with different metric sets (e.g. the cheap metrics on 300 cells and
 * te_nas_cond on a subset) merge by architecture; a metric present in several
 * rows of one architecture must come from the same settings.
 */
import { readFile } from 'node:fs/promises';

import { DataFormatError, FileNotFoundError, InvalidArgumentError } from '../errors.js';
import type { MetricError } from '../metrics/index.js';

/** The fields of a score row that analyses use (see ScoreRow in cli/commands/score.ts). */
export interface ScoreRecord {
  space: string;
  arch: string;
  index?: number;
  metrics: Record<string, number | null>;
  errors?: Record<string, MetricError>;
  extras?: Record<string, Record<string, number | boolean>>;
  /** Wall-clock seconds of the probe. */
  seconds?: number;
  settings?: { batch?: number; dtype?: string; dataSeed?: number; initSeed?: number; data?: string };
}

export interface ScoreTable {
  /** One entry per architecture, in first-seen order. */
  rows: ScoreRecord[];
  /** Every metric id seen, in first-seen order. */
  metrics: string[];
  /** Lines skipped: a torn last line of a file still being written. */
  tornLines: number;
}

function isRecord(value: unknown): value is ScoreRecord {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.space === 'string' && typeof v.arch === 'string' && !!v.metrics && typeof v.metrics === 'object';
}

/** Parses one file's rows; a malformed line other than the last is a DataFormatError naming it. */
export function parseScoreLines(text: string, source: string): { rows: ScoreRecord[]; torn: number } {
  const lines = text.split('\n');
  const rows: ScoreRecord[] = [];
  let torn = 0;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      const isLast = lines.slice(i + 1).every((l) => l.trim() === '');
      if (isLast) {
        torn++;
        return;
      }
      throw new DataFormatError(`${source}:${i + 1}: not a JSON line`);
    }
    if (!isRecord(value)) throw new DataFormatError(`${source}:${i + 1}: a score row needs space, arch and metrics`);
    for (const [id, v] of Object.entries(value.metrics)) {
      if (v !== null && typeof v !== 'number') throw new DataFormatError(`${source}:${i + 1}: metric ${id} is ${JSON.stringify(v)}`);
    }
    rows.push(value);
  });
  return { rows, torn };
}

/** Reads and merges score files (later files fill and override earlier ones per metric). */
export async function readScoreFiles(paths: readonly string[]): Promise<ScoreTable> {
  if (paths.length === 0) throw new InvalidArgumentError('give at least one scores file');
  const byArch = new Map<string, ScoreRecord>();
  const metrics = new Set<string>();
  let tornLines = 0;
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      throw new FileNotFoundError(path, { cause });
    }
    const { rows, torn } = parseScoreLines(text, path);
    tornLines += torn;
    for (const row of rows) {
      const key = `${row.space}|${row.arch}`;
      const merged = byArch.get(key) ?? { space: row.space, arch: row.arch, metrics: {}, errors: {}, extras: {} };
      if (row.index !== undefined) merged.index = row.index;
      // Rows of one architecture from several files (different metric sets): their probes add up.
      if (typeof row.seconds === 'number') merged.seconds = (merged.seconds ?? 0) + row.seconds;
      if (row.settings) merged.settings = { ...merged.settings, ...row.settings };
      for (const [id, value] of Object.entries(row.metrics)) {
        metrics.add(id);
        merged.metrics[id] = value;
        if (row.errors?.[id]) merged.errors![id] = row.errors[id];
        else delete merged.errors![id];
        if (row.extras?.[id]) merged.extras![id] = row.extras[id];
      }
      byArch.set(key, merged);
    }
  }
  return { rows: [...byArch.values()], metrics: [...metrics], tornLines };
}

/** A metric's column: the value where it succeeded and is finite, else null. */
export function metricColumn(table: ScoreTable, metric: string): (number | null)[] {
  return table.rows.map((r) => {
    const v = r.metrics[metric];
    return typeof v === 'number' && Number.isFinite(v) && !r.errors?.[metric] ? v : null;
  });
}
