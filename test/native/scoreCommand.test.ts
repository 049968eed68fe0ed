/** `hnas score` end to end in-process: rows, resume, crash safety, sharding, typed errors, output formats. */
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/cli.js';
import { captureConsole } from '../helpers/cliHarness.js';
import { parseShard, scoreRowKey, type ScoreRow } from '../../src/cli/commands/score.js';
import { Progress, formatDuration } from '../../src/cli/progress.js';
import { JsonlWriter } from '../../src/io/jsonlWriter.js';
import { loadNb201Table, sampleNb201Indices } from '../../src/spaces/nb201/index.js';
import { Rng } from '../../src/spaces/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'hnas-score-'));
const { logs, errors } = captureConsole();

const run = (...args: string[]) => main(['node', 'hnas', 'score', ...args]);
const SMALL = ['--batch', '8', '--metrics', 'ntk_trace,snip,params'];
const readRows = (path: string): ScoreRow[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ScoreRow);

describe('hnas score', () => {
  it('scores given architectures into JSONL rows with finite values, deterministically', async () => {
    const table = loadNb201Table();
    const a = join(dir, 'a.jsonl');
    const b = join(dir, 'b.jsonl');
    await run('13714', table.archAt(0), ...SMALL, '--out', a);
    expect(errors.filter((e) => e.startsWith('hnas:'))).toEqual([]);
    expect(process.exitCode ?? 0).toBe(0);
    await run('13714', table.archAt(0), ...SMALL, '--out', b);
    const rows = readRows(a);
    expect(rows.map((r) => r.index)).toEqual([13714, 0]);
    for (const r of rows) {
      expect(r.space).toBe('nb201');
      expect(r.arch).toBe(table.archAt(r.index!));
      expect(Object.keys(r.metrics)).toEqual(['ntk_trace', 'snip', 'params']);
      for (const v of Object.values(r.metrics)) expect(Number.isFinite(v)).toBe(true);
      expect(r.errors).toBeUndefined();
      expect(r.settings).toEqual({ batch: 8, dtype: 'float32', dataSeed: 0, initSeed: 0, data: 'default' });
      expect(r.seconds).toBeGreaterThan(0);
      expect(Object.keys(r.timings).length).toBeGreaterThan(0);
    }
    expect(rows[0].metrics.params).toBe(1073466);
    expect(readRows(b).map((r) => r.metrics)).toEqual(rows.map((r) => r.metrics));
  });

  it('computes synflow for a float32 network through its float64 copy, on Gaussian data', async () => {
    await run('13714', '--batch', '4', '--metrics', 'synflow,params', '--data', 'gaussian');
    const row = JSON.parse(logs[0]) as ScoreRow;
    expect(Number.isFinite(row.metrics.synflow)).toBe(true);
    expect(row.settings.data).toBe('gaussian');
  });

  it('keeps metric extras (ntk_cond: singular, λ) and reports a singular Θ as a typed error', async () => {
    const out = join(dir, 'extras.jsonl');
    // Node 3 receives only `none` edges: the logits do not depend on the input.
    await run('|none~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|none~1|none~2|', '13714', '--batch', '8', '--metrics', 'ntk_cond', '--out', out);
    const [disconnected, normal] = readRows(out);
    // Θ is the label-equality matrix there: λ_min = 0 exactly at batch 8.
    expect(disconnected.metrics.ntk_cond).toBeNull();
    expect(disconnected.errors?.ntk_cond?.code).toBe('ERR_HNAS_NON_FINITE');
    expect(disconnected.errors?.ntk_cond?.message).toMatch(/singular/);
    expect(normal.extras?.ntk_cond?.singular).toBe(false);
    expect(typeof normal.extras?.ntk_cond?.lambda_min).toBe('number');
  });

  it('resumes: a second run skips every row already written', async () => {
    const out = join(dir, 'resume.jsonl');
    await run('--sample', '4', '--seed', '3', ...SMALL, '--out', out);
    expect(readRows(out)).toHaveLength(4);
    errors.length = 0;
    await run('--sample', '4', '--seed', '3', ...SMALL, '--out', out);
    expect(readRows(out)).toHaveLength(4);
    expect(errors.join('\n')).toMatch(/scored 0\/0 \(4 skipped\)/);
    // Different settings are different rows.
    await run('--sample', '4', '--seed', '3', ...SMALL, '--init-seed', '1', '--out', out);
    expect(readRows(out)).toHaveLength(8);
  });

  it('drops a torn last line, keeps the complete rows, scores the rest without duplicates', async () => {
    const full = join(dir, 'full.jsonl');
    await run('--sample', '4', '--seed', '5', ...SMALL, '--out', full);
    const lines = readFileSync(full, 'utf8').split('\n').filter((l) => l !== '');
    const torn = join(dir, 'torn.jsonl');
    writeFileSync(torn, `${lines[0]}\n${lines[1]}\n${lines[2].slice(0, 40)}`);
    errors.length = 0;
    await run('--sample', '4', '--seed', '5', ...SMALL, '--out', torn);
    expect(errors.join('\n')).toMatch(/scored 2\/2 \(2 skipped\)/);
    const rows = readRows(torn);
    expect(rows).toHaveLength(4);
    expect(new Set(rows.map(scoreRowKey)).size).toBe(4);
    expect(rows.slice(0, 2)).toEqual(readRows(full).slice(0, 2));
    expect(rows.map((r) => r.metrics)).toEqual(readRows(full).map((r) => r.metrics));
  });

  it('shards by index % n and rejects bad shards, metrics and architectures with typed errors', async () => {
    const expected = sampleNb201Indices(new Rng(7), 6, { unique: true }).filter((i) => i % 3 === 1);
    await run('--sample', '6', '--seed', '7', '--shard', '1/3', '--batch', '4', '--metrics', 'params');
    expect(logs.map((l) => (JSON.parse(l) as ScoreRow).index)).toEqual(expected);
    expect(parseShard('2/3')).toEqual({ i: 2, n: 3 });

    const bad: [string[], RegExp][] = [
      [['--all', '--shard', '3/3'], /--shard.*ERR_HNAS_INVALID_ARGUMENT/],
      [['--all', '--shard', 'x'], /--shard/],
      [['13714', '--metrics', 'ntk_trace,bogus'], /bogus.*ERR_HNAS_INVALID_ARGUMENT/],
      [['13714', '|nor_conv_3x3~0|+|oops~0|'], /ERR_HNAS_INVALID_ARCHITECTURE/],
      [['15625'], /15625.*ERR_HNAS_INVALID_ARCHITECTURE/],
      [['13714', '--sample', '2'], /exactly one/],
      [['Genotype(nonsense)', '--space', 'darts'], /ERR_HNAS_INVALID_ARCHITECTURE/],
    ];
    for (const [args, pattern] of bad) {
      errors.length = 0;
      logs.length = 0;
      process.exitCode = undefined;
      await run(...args);
      expect(process.exitCode, args.join(' ')).toBe(1);
      expect(errors.join('\n'), args.join(' ')).toMatch(pattern);
      expect(logs).toEqual([]);
    }
  });

  it('prints csv and table with a header and one line per architecture', async () => {
    await run('13714', '0', '--batch', '4', '--metrics', 'params,snip', '--format', 'csv');
    const csv = logs.join('\n').split('\n');
    expect(csv[0]).toBe('space,arch,index,params,snip,seconds');
    expect(csv).toHaveLength(3);
    expect(csv[1]).toMatch(/^nb201,\|nor_conv_3x3~0\|.*,13714,1073466,/);
    logs.length = 0;
    await run('13714', '0', '--batch', '4', '--metrics', 'params', '--format', 'table');
    const table = logs.join('\n').split('\n');
    expect(table[0]).toMatch(/^space\s+arch\s+index\s+params\s+seconds$/);
    expect(table).toHaveLength(3);
    expect(table[1]).toMatch(/13714\s+1073466/);
  });
});

describe('JsonlWriter and Progress', () => {
  const key = (r: Record<string, unknown>): string => {
    if (typeof r.id !== 'number') throw new Error('no id');
    return String(r.id);
  };

  it('appends, survives a torn write, reopens consistently and refuses duplicates', async () => {
    const path = join(dir, 'writer.jsonl');
    let w = await JsonlWriter.open(path, { key });
    await w.append({ id: 1, v: 'a' });
    await w.append({ id: 2, v: 'b' });
    await expect(w.append({ id: 2, v: 'again' })).rejects.toMatchObject({ code: 'ERR_HNAS_INVALID_ARGUMENT' });
    await w.close();
    await expect(w.append({ id: 3 })).rejects.toMatchObject({ code: 'ERR_HNAS_DISPOSED' });
    appendFileSync(path, '{"id": 3, "v": "tor'); // killed mid-write

    w = await JsonlWriter.open(path, { key });
    expect(w.droppedLines).toBe(1);
    expect([...w.rows.keys()]).toEqual(['1', '2']);
    expect(readFileSync(path, 'utf8')).toBe('{"id":1,"v":"a"}\n{"id":2,"v":"b"}\n');
    await w.append({ id: 3, v: 'c' });
    await w.close();

    w = await JsonlWriter.open(path, { key });
    expect(w.droppedLines).toBe(0);
    expect([...w.rows.keys()]).toEqual(['1', '2', '3']);
    await w.close();
  });

  it('rejects a corrupt line that is not the last one', async () => {
    const path = join(dir, 'corrupt.jsonl');
    writeFileSync(path, '{"id":1}\nnot json\n{"id":2}\n');
    await expect(JsonlWriter.open(path, { key })).rejects.toMatchObject({ code: 'ERR_HNAS_DATA_FORMAT' });
  });

  it('draws one updating line on a terminal and only a summary otherwise', () => {
    let t = 0;
    const drawn: string[] = [];
    const summary: string[] = [];
    const live = new Progress({ total: 300, skipped: 3, live: true, now: () => t, write: (s) => void drawn.push(s), summary: (l) => void summary.push(l) });
    for (let i = 0; i < 12; i++) {
      t += 1000;
      live.tick();
    }
    expect(drawn.at(-1)).toBe('\r\x1b[2Kscored 12/300 (3 skipped) 1.0 arch/s ETA 4m48s');
    live.finish();
    expect(summary).toEqual(['scored 12/300 (3 skipped) in 12s, 1.0 arch/s']);
    drawn.length = 0;
    const quiet = new Progress({ total: 2, skipped: 0, live: false, write: (s) => void drawn.push(s), summary: () => {} });
    quiet.tick();
    quiet.tick();
    quiet.finish();
    expect(drawn).toEqual([]);
  });

  it('formats durations for the ETA', () => {
    expect(formatDuration(160)).toBe('2m40s');
    expect(formatDuration(12)).toBe('12s');
    expect(formatDuration(3720)).toBe('1h02m');
  });
});
