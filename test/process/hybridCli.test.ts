/**
 * `hnas hybrid` as a process: kill -9 midway then --resume gives the same
 * log and answer as an uninterrupted run; the command evaluator's crashing,
 * hanging and garbage-printing commands are recorded on their steps and the
 * run goes on (skip) or stops (stop). Scores: a synthetic table covering
 * every NB201 isomorphism class (the loop's mechanics do not depend on the
 * values), written by the test.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadNb201Table } from '../../src/spaces/nb201/index.js';
import { Rng } from '../../src/spaces/rng.js';
import { runCli, startCli } from '../helpers/cliProcess.js';

const dir = mkdtempSync(join(tmpdir(), 'hnas-hybrid-cli-'));
const scores = join(dir, 'scores.jsonl');
const script = join(dir, 'evaluate.mjs');

/** Accuracy from the architecture text (deterministic), cost fixed; misbehaves on request by step. */
const SCRIPT = `
const [arch, step] = process.argv.slice(2);
const mode = (process.env.FAIL_STEPS ?? '').split(',').find((m) => m.startsWith(step + ':'))?.split(':')[1];
await new Promise((r) => setTimeout(r, Number(process.env.DELAY_MS ?? 0)));
if (mode === 'crash') { console.error('training diverged'); process.exitCode = 3; }
else if (mode === 'hang') { await new Promise((r) => setTimeout(r, 60000)); }
else if (mode === 'garbage') { console.log('epoch 1 loss 2.3'); console.log('accuracy: ninety'); }
else {
  let h = 0; for (const ch of arch) h = (h * 31 + ch.charCodeAt(0)) % 100003;
  console.log('training...');
  console.log(JSON.stringify({ accuracy: 50 + (h % 4000) / 100, cost: 60 }));
}
`;

const logLines = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const BASE = ['hybrid', '--scores', scores, '--evaluator', 'command', '--pool-growth', '300', '--format', 'json', '--cache', join(dir, 'nested', 'cache.jsonl')];

beforeAll(() => {
  const table = loadNb201Table();
  const rng = new Rng(5);
  const seen = new Set<string>();
  const rows: string[] = [];
  for (let index = 0; index < table.size; index++) {
    const iso = table.isoClassAt(index);
    if (seen.has(iso)) continue;
    seen.add(iso);
    rows.push(JSON.stringify({ space: 'nb201', arch: table.archAt(index), index, metrics: { ntk_trace: 1 + 99 * rng.next(), ntk_cond: 5 + 2000 * rng.next() }, seconds: 0.1 }));
  }
  writeFileSync(scores, rows.join('\n') + '\n');
  writeFileSync(script, SCRIPT);
});

describe('hnas hybrid run log', () => {
  it('resumes a run killed with SIGKILL to the identical log and answer', async () => {
    const args = [...BASE, '--iters', '8', '--command', `node ${script} {arch} {step}`];
    const reference = join(dir, 'reference.jsonl');
    const clean = await runCli([...args, '--log', reference], { DELAY_MS: '0' });
    expect(clean.code, clean.stderr).toBe(0);

    const killed = join(dir, 'killed.jsonl');
    const { child, done } = startCli([...args, '--log', killed], { DELAY_MS: '300' });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const steps = (() => { try { return logLines(killed).filter((l) => l.kind === 'step').length; } catch { return 0; } })();
      if (steps >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    expect((await done).signal).toBe('SIGKILL');
    const partial = logLines(killed).filter((l) => l.kind === 'step').length;
    expect(partial).toBeGreaterThanOrEqual(3);
    expect(partial).toBeLessThan(8);

    const refused = await runCli([...args, '--log', killed], { DELAY_MS: '0' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/exists: pass --resume/);
    const changed = await runCli([...args, '--log', killed, '--resume', '--seed', '1'], { DELAY_MS: '0' });
    expect(changed.stderr).toMatch(/different settings \(seed/);

    const resumed = await runCli([...args, '--log', killed, '--resume'], { DELAY_MS: '0' });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`replaying ${partial} logged steps`));
    expect(logLines(killed)).toEqual(logLines(reference));
    expect(JSON.parse(resumed.stdout).runs).toEqual(JSON.parse(clean.stdout).runs);
  });
});

describe('hnas hybrid with a failing command', () => {
  const args = (fail: string, policy: string) => [...BASE, '--iters', '5', '--timeout', '1', '--on-eval-error', policy,
    '--command', `node ${script} {arch} {step}`, '--log', join(dir, `fail-${policy}.jsonl`)];

  it('records crash, hang and garbage on their steps and goes on (skip)', async () => {
    const out = await runCli(args('1:crash,2:hang,3:garbage', 'skip'), { FAIL_STEPS: '1:crash,2:hang,3:garbage' });
    expect(out.code, out.stderr).toBe(0);
    const steps = logLines(join(dir, 'fail-skip.jsonl')).filter((l) => l.kind === 'step').map((l) => l.record as Record<string, any>);
    expect(steps).toHaveLength(5);
    expect(steps[0].evaluation.accuracy).toBeGreaterThan(50);
    expect(steps[1].error.message).toMatch(/exit(ed)? .*3|code 3/);
    expect(steps[1].error.message).toMatch(/training diverged/);
    expect(steps[2].error.message).toMatch(/killed after the 1 s time limit/);
    expect(steps[3].error.message).toMatch(/ninety|not JSON|malformed|JSON/i);
    expect(steps[4].evaluation).toBeDefined();
    const summary = JSON.parse(out.stdout).runs[0];
    expect(summary.failedSteps).toBe(3);
    expect(summary.accuracy).toBe(Math.max(steps[0].evaluation.accuracy, steps[4].evaluation.accuracy));
  });

  it('stops at the first failure with --on-eval-error stop, the failed step logged', async () => {
    const out = await runCli(args('1:crash', 'stop'), { FAIL_STEPS: '1:crash' });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/hnas: .*training diverged.*ERR_HNAS_EVALUATION_FAILED/s);
    const steps = logLines(join(dir, 'fail-stop.jsonl')).filter((l) => l.kind === 'step');
    expect(steps).toHaveLength(2);
  });
});
