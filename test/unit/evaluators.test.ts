/**
 * Evaluators of the hybrid search: the command-line template, the user's
 * training command (run for real as small node scripts), the NB201
 * benchmark lookup (checked against the CSV read independently here) and the
 * library callback.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AbortedError,
  ArchitectureError,
  EvaluationError,
  InvalidArgumentError,
  UnsupportedError,
  type EvaluationFailureReason,
} from '../../src/errors.js';
import { BenchmarkEvaluator } from '../../src/search/evaluators/benchmark.js';
import { CallbackEvaluator } from '../../src/search/evaluators/callback.js';
import { CommandEvaluator, type CommandEvaluatorOptions } from '../../src/search/evaluators/command.js';
import {
  expandCommandTemplate,
  formatCommandLine,
  parseCommandTemplate,
  splitCommandLine,
} from '../../src/search/evaluators/commandLine.js';
import { validateEvaluation, type Candidate } from '../../src/search/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const CSV = join(here, '..', '..', 'data', 'nb201', 'nb201_accuracies.csv');

const ARCH_1 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|';
const NB201: Candidate = { space: 'nb201', arch: ARCH_1, index: 1 };

/** Awaits `promise`, expects it to reject with an EvaluationError of `reason`, returns the error. */
async function failure(promise: Promise<unknown>, reason: EvaluationFailureReason): Promise<EvaluationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EvaluationError);
  const e = error as EvaluationError;
  expect(e.code).toBe('ERR_HNAS_EVALUATION_FAILED');
  expect(e.reason).toBe(reason);
  return e;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('splitCommandLine', () => {
  const cases: [string, string[]][] = [
    ['python train.py --arch {arch}', ['python', 'train.py', '--arch', '{arch}']],
    ['  a \t b\n c  ', ['a', 'b', 'c']],
    ['', []],
    ['   ', []],
    ["'a b|c~0' d", ['a b|c~0', 'd']],
    [`'it''s'`, ['its']],
    [`"say \\"hi\\"" "back\\\\slash" "\\$HOME" "a\\b"`, ['say "hi"', 'back\\slash', '$HOME', 'a\\b']],
    ['a\\ b c\\\'d', ['a b', "c'd"]],
    ["'' \"\" x", ['', '', 'x']],
    [`a'b c'"d e"f`, ['ab cd ef']],
    ['one \\\ntwo', ['one', 'two']],
    ['"x\\\ny"', ['xy']],
    ['a|b ; c && d > e $X *', ['a|b', ';', 'c', '&&', 'd', '>', 'e', '$X', '*']],
    ["'\"' \"'\"", ['"', "'"]],
  ];
  it.each(cases)('%j', (input, expected) => {
    expect(splitCommandLine(input)).toEqual(expected);
  });

  it.each([`'open`, `"open`, 'trailing\\', `"a\\"`])('rejects %j', (input) => {
    expect(() => splitCommandLine(input)).toThrow(InvalidArgumentError);
  });

  it('round-trips through formatCommandLine', () => {
    const argv = ['node', 'a b', "it's", '|x~0|', '', 'plain-arg=1'];
    expect(splitCommandLine(formatCommandLine(argv))).toEqual(argv);
  });
});

describe('command templates', () => {
  it('lists the placeholders it uses and rejects unknown ones', () => {
    const t = parseCommandTemplate('run --arch {arch} --out {onnx}.x --step={step}');
    expect([...t.placeholders].sort()).toEqual(['arch', 'onnx', 'step']);
    expect(() => parseCommandTemplate('run {arc}')).toThrow(/unknown placeholder \{arc\}/);
    expect(() => parseCommandTemplate('')).toThrow(InvalidArgumentError);
    expect(() => parseCommandTemplate([])).toThrow(InvalidArgumentError);
  });

  it('keeps braces that are not around a name', () => {
    const t = parseCommandTemplate(`run '{}' '{"lr": 1}' {arch}`);
    expect(expandCommandTemplate(t, { arch: 'A' })).toEqual(['run', '{}', '{"lr": 1}', 'A']);
  });

  it('substitutes per argument in one pass', () => {
    const t = parseCommandTemplate(['run', '--x={arch}/{step}', '{space}']);
    expect(expandCommandTemplate(t, { arch: 'a b {step}', step: '7', space: 'nb201' })).toEqual([
      'run',
      '--x=a b {step}/7',
      'nb201',
    ]);
    expect(() => expandCommandTemplate(parseCommandTemplate('run {index}'), {})).toThrow(/\{index\}/);
  });
});

describe('BenchmarkEvaluator', () => {
  // The CSV read here, independently of benchmarkTable.ts.
  const lines = readFileSync(CSV, 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  const field = (index: number, name: string): string => lines[index + 1].split(',')[header.indexOf(name)];
  const num = (index: number, name: string): number => Number(field(index, name));

  it.each([0, 1, 4948, 13714, 15624])('reads row %i as the CSV has it', async (index) => {
    const evaluator = new BenchmarkEvaluator();
    const arch = field(index, 'arch_str');
    const expected = {
      accuracy: num(index, 'c10v_valid_12'),
      cost: num(index, 'c10v_hp12_cost_s'),
      report: {
        c10_test_200: num(index, 'c10_test_200'),
        c100_test_200: num(index, 'c100_test_200'),
        in16_test_200: num(index, 'in16_test_200'),
      },
    };
    expect(await evaluator.evaluate({ space: 'nb201', arch, index }, { step: 0 })).toEqual(expected);
    // By architecture string alone, and by index alone.
    expect(await evaluator.evaluate({ space: 'nb201', arch }, { step: 0 })).toEqual(expected);
    expect(await evaluator.evaluate({ space: 'nb201', arch: '', index }, { step: 0 })).toEqual(expected);
  });

  it('takes other feedback and cost columns', async () => {
    const evaluator = new BenchmarkEvaluator({ feedback: 'c100_valid_12', cost: 'c10v_train_time_total' });
    const result = await evaluator.evaluate(NB201, { step: 3 });
    expect(result.accuracy).toBe(num(1, 'c100_valid_12'));
    expect(result.cost).toBe(num(1, 'c10v_train_time_total'));
  });

  it('rejects unknown columns, DARTS candidates and an index that contradicts the arch', async () => {
    expect(() => new BenchmarkEvaluator({ feedback: 'c10_valid' as 'c10v_valid_12' })).toThrow(InvalidArgumentError);
    expect(() => new BenchmarkEvaluator({ cost: 'seconds' as 'c10v_hp12_cost_s' })).toThrow(/unknown NAS-Bench-201 column/);
    const evaluator = new BenchmarkEvaluator();
    await expect(evaluator.evaluate({ space: 'darts', arch: 'Genotype(...)' }, { step: 0 })).rejects.toThrow(UnsupportedError);
    await expect(evaluator.evaluate({ space: 'nb201', arch: ARCH_1, index: 2 }, { step: 0 })).rejects.toThrow(ArchitectureError);
    await expect(evaluator.evaluate({ space: 'nb201', arch: 'nonsense' }, { step: 0 })).rejects.toThrow(ArchitectureError);
  });

  it('does not look up once aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(new BenchmarkEvaluator().evaluate(NB201, { step: 0, signal: controller.signal })).rejects.toThrow(AbortedError);
  });
});

describe('CommandEvaluator', () => {
  let dir: string;
  const node = process.execPath;
  const script = (name: string, body: string): string => {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  };
  const run = (command: CommandEvaluatorOptions['command'], candidate: Candidate = NB201, options: Partial<CommandEvaluatorOptions> = {}) =>
    new CommandEvaluator({ command, ...options }).evaluate(candidate, { step: 4 });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hnas-evaluators-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the last stdout line after free-form log lines', async () => {
    const good = script(
      'good.mjs',
      `console.log('epoch 1 loss 2.3');\nconsole.log('{"not": "the last line"}');\nconsole.error('a warning');\n` +
        `console.log(JSON.stringify({ accuracy: 91.5, cost: 12, report: { test: 90.25 } }));\nconsole.log('');\n`,
    );
    expect(await run([node, good, '{arch}'])).toEqual({ accuracy: 91.5, cost: 12, report: { test: 90.25 } });
  });

  it('uses the wall clock as cost when the line has none, and takes 0..1 accuracies as given', async () => {
    const s = script('nocost.mjs', `console.log('{"accuracy": 0.9}');\n`);
    const result = await run(`'${node}' '${s}'`);
    expect(result.accuracy).toBe(0.9);
    expect(Number.isFinite(result.cost) && result.cost > 0).toBe(true);
  });

  it('passes the architecture as one intact argument and in the environment', async () => {
    const out = join(dir, 'args.json');
    const s = script(
      'args.mjs',
      `import { writeFileSync } from 'node:fs';\n` +
        `const e = process.env;\n` +
        `const env = [e.HNAS_ARCH, e.HNAS_SPACE, e.HNAS_STEP, e.HNAS_INDEX, e.HNAS_ONNX ?? null, e.EXTRA];\n` +
        `writeFileSync(process.argv[2], JSON.stringify({ argv: process.argv.slice(3), env }));\n` +
        `console.log('{"accuracy": 50, "cost": 1}');\n`,
    );
    // The architecture holds |, ~, quotes, $ and spaces: no shell may see it.
    const nasty = `|nor_conv_3x3~0|+|a b'c"d$(touch ${join(dir, 'pwned')})~1|;&&|`;
    const candidate: Candidate = { space: 'nb201', arch: nasty, index: 77 };
    await run(`'${node}' '${s}' '${out}' {arch} --step={step} --space {space} --index {index}`, candidate, { env: { EXTRA: 'x', HNAS_STEP: 'stale' } });
    const seen = JSON.parse(readFileSync(out, 'utf8')) as { argv: string[]; env: (string | null)[] };
    expect(seen.argv).toEqual([nasty, '--step=4', '--space', 'nb201', '--index', '77']);
    expect(seen.env).toEqual([nasty, 'nb201', '4', '77', null, 'x']);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('exports the network for {onnx} and removes it afterwards', async () => {
    const out = join(dir, 'onnx.json');
    const s = script(
      'onnx.mjs',
      `import { statSync, writeFileSync } from 'node:fs';\n` +
        `const path = process.argv[3];\n` +
        `writeFileSync(process.argv[2], JSON.stringify({ path, env: process.env.HNAS_ONNX, size: statSync(path).size }));\n` +
        `console.log('{"accuracy": 60, "cost": 2}');\n`,
    );
    const result = await run([node, s, out, '{onnx}'], NB201, { architecture: { channels: 4, cells: 1 } });
    expect(result).toEqual({ accuracy: 60, cost: 2 });
    const seen = JSON.parse(readFileSync(out, 'utf8')) as { path: string; env: string; size: number };
    expect(seen.env).toBe(seen.path);
    expect(seen.size).toBeGreaterThan(1000);
    expect(existsSync(seen.path)).toBe(false);
    expect(existsSync(dirname(seen.path))).toBe(false);
  });

  it('forwards output to onOutput, and rejects with what onOutput throws', async () => {
    const s = script('chatty.mjs', `console.error('log to stderr');\nconsole.log('{"accuracy": 10, "cost": 1}');\n`);
    const seen: Record<string, string> = { stdout: '', stderr: '' };
    await run([node, s], NB201, { onOutput: (stream, chunk) => (seen[stream] += chunk.toString('utf8')) });
    expect(seen).toEqual({ stdout: '{"accuracy": 10, "cost": 1}\n', stderr: 'log to stderr\n' });
    const oops = new Error('display closed');
    await expect(
      run([node, s], NB201, {
        onOutput: () => {
          throw oops;
        },
      }),
    ).rejects.toBe(oops);
  });

  it('reports a non-zero exit with the code and the end of stderr', async () => {
    const s = script('crash.mjs', `console.log('{"accuracy": 99}');\nconsole.error('Traceback: boom at line 7');\nprocess.exit(3);\n`);
    const e = await failure(run([node, s]), 'exit');
    expect(e.exitCode).toBe(3);
    expect(e.message).toMatch(/exited with code 3/);
    expect(e.message).toMatch(/boom at line 7/);
    expect(e.cost).toBeGreaterThan(0);
  });

  it('keeps only the last 2 KiB of a long stderr, starting on a whole line', async () => {
    const s = script(
      'noisy.mjs',
      `for (let i = 0; i < 5000; i++) console.error('noise line ' + i + ' ' + 'x'.repeat(40));\nconsole.error('the real error');\nprocess.exitCode = 1;\n`,
    );
    const e = await failure(run([node, s]), 'exit');
    expect(e.message).toMatch(/the real error$/);
    expect(e.message).toMatch(/\nnoise line \d+ x+\n/);
    expect(e.message.length).toBeLessThan(2048 + 500);
  });

  it('reports death by a signal', async () => {
    const s = script('killed.mjs', `process.kill(process.pid, 'SIGKILL');\nsetInterval(() => {}, 1000);\n`);
    const e = await failure(run([node, s]), 'signal');
    expect(e.signal).toBe('SIGKILL');
    expect(e.message).toMatch(/SIGKILL/);
  });

  it.each([
    ['garbage', `console.log('accuracy: 91.5')`, /not JSON/],
    ['python NaN', `console.log('{"accuracy": NaN}')`, /not JSON/],
    ['infinite', `console.log('{"accuracy": 1e999}')`, /finite/],
    ['string', `console.log('{"accuracy": "91.5"}')`, /finite number/],
    ['out of range', `console.log('{"accuracy": 100.5}')`, /0\.\.100/],
    ['negative cost', `console.log('{"accuracy": 50, "cost": -1}')`, /cost/],
    ['bad report', `console.log('{"accuracy": 50, "report": {"test": null}}')`, /report\.test/],
    ['array', `console.log('[91.5]')`, /expected an object/],
    ['no output', `console.error('quiet')`, /no result line/],
  ])('rejects a malformed result (%s)', async (name, body, message) => {
    const s = script(`malformed-${name.replace(/\W/g, '_')}.mjs`, `${body};\n`);
    const e = await failure(run([node, s]), 'malformed');
    expect(e.message).toMatch(message);
  });

  it('rejects a last line longer than the stdout it keeps', async () => {
    const s = script('longline.mjs', `console.log('{"accuracy": 50, "pad": "' + 'x'.repeat(5000) + '"}');\n`);
    await failure(run([node, s], NB201, { maxStdoutBytes: 1024 }), 'malformed');
    expect(await run([node, s], NB201, { maxStdoutBytes: 8192 })).toMatchObject({ accuracy: 50 });
  });

  it('reports a program that cannot be started', async () => {
    const e = await failure(run(['hnas-no-such-program-4c1e', '{arch}']), 'spawn');
    expect(e.message).toMatch(/could not start/);
  });

  it('kills a command that runs past its timeout, children included', async () => {
    const pids = join(dir, 'hang.pids');
    // Ignores SIGTERM, so only the SIGKILL after the grace period ends it; its child hangs too.
    const s = script(
      'hang.mjs',
      `import { spawn } from 'node:child_process';\nimport { writeFileSync } from 'node:fs';\n` +
        `process.on('SIGTERM', () => {});\n` +
        `const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'inherit' });\n` +
        `writeFileSync(process.argv[2], JSON.stringify([process.pid, child.pid]));\n` +
        `console.log('training...');\nsetInterval(() => {}, 1000);\n`,
    );
    const e = await failure(run([node, s, pids], NB201, { timeoutSeconds: 1, killGraceSeconds: 0.3 }), 'timeout');
    expect(e.message).toMatch(/1 s time limit/);
    const [parent, child] = JSON.parse(readFileSync(pids, 'utf8')) as number[];
    expect(isAlive(parent)).toBe(false);
    // The orphaned child was SIGKILLed with the group; give init a moment to reap it.
    for (let i = 0; i < 50 && isAlive(child); i++) await new Promise((r) => setTimeout(r, 20));
    expect(isAlive(child)).toBe(false);
  });

  it('kills the command when the signal aborts', async () => {
    const pids = join(dir, 'abort.pids');
    const s = script(
      'abortable.mjs',
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[2], JSON.stringify([process.pid]));\nsetInterval(() => {}, 1000);\n`,
    );
    const controller = new AbortController();
    const evaluator = new CommandEvaluator({ command: [node, s, pids] });
    const pending = evaluator.evaluate(NB201, { step: 0, signal: controller.signal });
    for (let i = 0; i < 250 && !existsSync(pids); i++) await new Promise((r) => setTimeout(r, 20));
    controller.abort(new Error('user stop'));
    await expect(pending).rejects.toThrow(AbortedError);
    const [pid] = JSON.parse(readFileSync(pids, 'utf8')) as number[];
    expect(isAlive(pid)).toBe(false);

    // Already aborted: nothing is started.
    const marker = join(dir, 'started');
    const s2 = script('marker.mjs', `import { writeFileSync } from 'node:fs';\nwriteFileSync(process.argv[2], '1');\n`);
    await expect(new CommandEvaluator({ command: [node, s2, marker] }).evaluate(NB201, { step: 0, signal: controller.signal })).rejects.toThrow(
      AbortedError,
    );
    expect(existsSync(marker)).toBe(false);
  });

  it('validates its options', () => {
    expect(() => new CommandEvaluator({ command: 'run {arc}' })).toThrow(InvalidArgumentError);
    expect(() => new CommandEvaluator({ command: 'run', timeoutSeconds: 0 })).toThrow(/timeoutSeconds/);
    expect(() => new CommandEvaluator({ command: 'run', killGraceSeconds: -1 })).toThrow(/killGraceSeconds/);
    expect(() => new CommandEvaluator({ command: 'run', maxStdoutBytes: 10 })).toThrow(/maxStdoutBytes/);
    expect(new CommandEvaluator({ command: 'python train.py' }).name).toBe('command(python)');
  });

  it('needs an index for {index}', async () => {
    await expect(run('run {index}', { space: 'nb201', arch: ARCH_1 })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('CallbackEvaluator and validateEvaluation', () => {
  it('passes a valid result through, keeping only the known fields', async () => {
    const evaluator = new CallbackEvaluator((c, ctx) => ({ accuracy: 70 + ctx.step, cost: c.arch.length, report: { t: 1 } }), { name: 'mine' });
    expect(evaluator.name).toBe('mine');
    expect(await evaluator.evaluate(NB201, { step: 2 })).toEqual({ accuracy: 72, cost: ARCH_1.length, report: { t: 1 } });
    const extra = new CallbackEvaluator(async () => ({ accuracy: 1, cost: 0, other: 'x' }) as never);
    expect(await extra.evaluate(NB201, { step: 0 })).toEqual({ accuracy: 1, cost: 0 });
  });

  it.each([
    ['NaN accuracy', { accuracy: Number.NaN, cost: 1 }],
    ['missing cost', { accuracy: 90 }],
    ['accuracy above 100', { accuracy: 101, cost: 1 }],
    ['infinite cost', { accuracy: 90, cost: Number.POSITIVE_INFINITY }],
    ['non-numeric report', { accuracy: 90, cost: 1, report: { a: 'b' } }],
    ['undefined', undefined],
  ])('rejects a malformed result (%s)', async (_, value) => {
    const evaluator = new CallbackEvaluator(() => value as never);
    await failure(evaluator.evaluate(NB201, { step: 0 }), 'malformed');
  });

  it('passes what the callback throws on unchanged', async () => {
    const boom = new RangeError('out of GPU');
    await expect(new CallbackEvaluator(() => Promise.reject(boom)).evaluate(NB201, { step: 0 })).rejects.toBe(boom);
    expect(() => new CallbackEvaluator('f' as never)).toThrow(InvalidArgumentError);
  });

  it('copies the report', () => {
    const report = { a: 1 };
    const checked = validateEvaluation({ accuracy: 5, cost: 0, report }, 'test');
    expect(checked.report).toEqual(report);
    expect(checked.report).not.toBe(report);
  });
});
