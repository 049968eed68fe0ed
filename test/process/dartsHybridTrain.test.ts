/**
 * HNAS end to end on DARTS with the built-in trainer, at a CI budget: a pool
 * of 8 sampled genotypes scored on demand, 3 BO steps, 1 epoch on 64 images
 * of the bundled sample per candidate. Killed after its first step and
 * resumed, it makes the same picks with the same accuracies as an
 * uninterrupted run (the training cost is wall-clock, so it may differ).
 * Three CLI runs of real training: ~75 s alone on 2 cores, ~95–125 s beside
 * the rest of the suite, hence its own 5-minute limit.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, startCli } from '../helpers/cliProcess.js';

const dir = mkdtempSync(join(tmpdir(), 'hnas-darts-train-'));
const ARGS = ['hybrid', '--space', 'darts', '--evaluator', 'train', '--pool-size', '8', '--iters', '3', '--train-epochs', '1',
  '--train-images', '64', '--cache', join(dir, 'cache.jsonl'), '--format', 'json'];
const ENV = { HNAS_NUM_THREADS: '2' };

const stepsOf = (path: string) =>
  existsSync(path)
    ? readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { kind: string; record: Record<string, any> }).filter((l) => l.kind === 'step').map((l) => l.record)
    : [];

describe('hnas hybrid --space darts --evaluator train', () => {
  it('runs end to end and resumes after a kill with the same picks and accuracies', async () => {
    const reference = join(dir, 'reference.jsonl');
    const clean = await runCli([...ARGS, '--log', reference], ENV);
    expect(clean.code, clean.stderr).toBe(0);
    const expected = stepsOf(reference);
    expect(expected).toHaveLength(3);
    for (const s of expected) {
      expect(s.candidate.arch).toMatch(/^Genotype\(normal=\[/);
      expect(s.evaluation.accuracy).toBeGreaterThanOrEqual(0);
      expect(s.evaluation.cost).toBeGreaterThan(0);
    }
    const summary = JSON.parse(clean.stdout).runs[0];
    expect(summary.arch).toBe(expected.reduce((a, b) => (b.evaluation.accuracy > a.evaluation.accuracy ? b : a)).candidate.arch);

    const killed = join(dir, 'killed.jsonl');
    const { child, done } = startCli([...ARGS, '--log', killed], ENV);
    const deadline = Date.now() + 240_000;
    while (stepsOf(killed).length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await done;
    const partial = stepsOf(killed).length;
    expect(partial).toBeGreaterThanOrEqual(1);
    const resumed = await runCli([...ARGS, '--log', killed, '--resume'], ENV);
    expect(resumed.code, resumed.stderr).toBe(0);
    const got = stepsOf(killed);
    expect(got.map((s) => [s.candidate.arch, s.evaluation.accuracy, s.c, s.t])).toEqual(expected.map((s) => [s.candidate.arch, s.evaluation.accuracy, s.c, s.t]));
  }, 300_000);
});
