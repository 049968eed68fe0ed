/**
 * `hnas score` killed with SIGKILL midway, then re-run: the file ends with
 * every row exactly once, and the same values as an uninterrupted run.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scoreRowKey, type ScoreRow } from '../../src/cli/commands/score.js';
import { runCli, startCli } from '../helpers/cliProcess.js';

const dir = mkdtempSync(join(tmpdir(), 'hnas-kill-'));
const ARGS = ['score', '--sample', '8', '--seed', '3', '--batch', '8', '--metrics', 'ntk_trace,grad_norm,params', '--threads', '1'];

const rowsOf = (path: string): ScoreRow[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as ScoreRow)
    : [];

async function waitForRows(path: string, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (rowsOf(path).length >= count) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${path} did not reach ${count} rows in ${timeoutMs} ms`);
}

describe('hnas score killed midway', () => {
  it('completes the file on re-run with no duplicate and no lost row', async () => {
    const reference = join(dir, 'reference.jsonl');
    const killed = join(dir, 'killed.jsonl');
    const clean = await runCli([...ARGS, '--out', reference]);
    expect(clean.code, clean.stderr).toBe(0);
    const expectedRows = rowsOf(reference);
    expect(expectedRows).toHaveLength(8);

    const { child, done } = startCli([...ARGS, '--out', killed]);
    await waitForRows(killed, 3, 60_000);
    child.kill('SIGKILL');
    const outcome = await done;
    expect(outcome.signal).toBe('SIGKILL');
    const partial = rowsOf(killed).length;
    expect(partial).toBeGreaterThanOrEqual(3);
    expect(partial).toBeLessThan(8);

    const resumed = await runCli([...ARGS, '--out', killed]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`scored ${8 - partial}/${8 - partial} \\(${partial} skipped\\)`));
    const rows = rowsOf(killed);
    const keys = rows.map(scoreRowKey);
    expect(new Set(keys).size).toBe(8);
    const byKey = new Map(rows.map((r) => [scoreRowKey(r), r.metrics]));
    for (const row of expectedRows) expect(byKey.get(scoreRowKey(row))).toEqual(row.metrics);
  });
});
