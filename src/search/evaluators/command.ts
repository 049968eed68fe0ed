/**
 * Evaluation by the user's own training command, run once per candidate —
 * the "train and validate" half of the hybrid search, in whatever framework
 * the user trains with.
 *
 * The protocol:
 *  - The command is a template (see commandLine.ts) such as
 *    `python train.py --arch {arch} --onnx {onnx} --step {step}`, split into
 *    argv once and run without a shell, so an architecture string reaches
 *    the program as one intact argument. The same values are in the
 *    environment: HNAS_ARCH, HNAS_SPACE, HNAS_STEP, HNAS_INDEX (NB201
 *    candidates with an index) and HNAS_ONNX (when a network was exported).
 *    A user who does want a shell should write `sh -c '… "$HNAS_ARCH" …'`
 *    and read the environment, never put `{arch}` inside the script text.
 *  - `{onnx}` (or the `onnx` option) exports the candidate's network
 *    (buildArchitecture + writeOnnxFile) into a fresh temporary folder that
 *    is removed when the command has finished.
 *  - The command's LAST non-empty stdout line must be a JSON object
 *    `{"accuracy": <percent 0..100>, "cost"?: <seconds>, "report"?: {<name>: <number>}}`;
 *    anything before it is free-form log. Without `cost` the cost is the
 *    command's wall-clock time. The accuracy is a percent: 0.9 means 0.9 %,
 *    it is not rescaled (a script printing fractions must multiply by 100).
 *  - Failures are EvaluationError with a `reason` (spawn, exit, signal,
 *    timeout, malformed), the exit code or signal, the seconds used, and a
 *    message ending with the last lines of stderr (at most 2 KiB).
 *  - The command runs in its own process group (POSIX), so a timeout or an
 *    abort reaches its children too: SIGTERM first, SIGKILL after
 *    `killGraceSeconds`. A consequence: a terminal's Ctrl-C does not reach
 *    the group directly; callers wire SIGINT to the AbortSignal instead.
 *  - Memory is bounded: stdout keeps its last `maxStdoutBytes`, stderr its
 *    last 2 KiB; `onOutput` sees every chunk as it comes.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AbortedError, EvaluationError, InvalidArgumentError } from '../../errors.js';
import { writeOnnxFile } from '../../onnx/exportOnnx.js';
import { buildArchitecture, type ArchitectureOptions } from '../../spaces/architecture.js';
import { throwIfAborted } from '../history.js';
import { validateEvaluation, type Candidate, type Evaluation, type EvaluationContext, type Evaluator } from '../types.js';
import {
  expandCommandTemplate,
  formatCommandLine,
  parseCommandTemplate,
  type CommandPlaceholder,
  type CommandTemplate,
} from './commandLine.js';

/** Bytes of stderr kept for error messages. */
export const STDERR_TAIL_BYTES = 2048;

export interface CommandEvaluatorOptions {
  /** Template string (split with shell-like quoting) or argv array; placeholders {arch} {onnx} {space} {step} {index}. */
  command: string | readonly string[];
  /** Seconds before the command is killed (reason 'timeout'). Default: no limit. */
  timeoutSeconds?: number;
  /** Seconds between SIGTERM and SIGKILL. Default 5. */
  killGraceSeconds?: number;
  /** Working folder of the command. Default: this process's. */
  cwd?: string;
  /** Extra environment variables (the HNAS_* ones are set last and win). */
  env?: Readonly<Record<string, string>>;
  /** Export the ONNX network even when the template has no {onnx} (the path is in HNAS_ONNX). Default false. */
  onnx?: boolean;
  /** Options of the exported network (channels, cells, dataset, seed, …). */
  architecture?: ArchitectureOptions;
  /** Bytes of stdout kept (the tail, which must hold the last line). Default 1 MiB. */
  maxStdoutBytes?: number;
  /**
   * Sees each chunk of the command's output as it arrives (e.g. to show
   * training logs). If it throws, forwarding stops and the evaluation
   * rejects with that error once the command has finished.
   */
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Name for logs. Default `command(<program>)`. */
  name?: string;
}

export class CommandEvaluator implements Evaluator {
  readonly name: string;
  readonly template: CommandTemplate;
  readonly #options: CommandEvaluatorOptions;
  readonly #exportOnnx: boolean;
  readonly #timeout: number | undefined;
  readonly #grace: number;
  readonly #maxStdout: number;

  constructor(options: CommandEvaluatorOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('CommandEvaluator needs options { command, … }');
    this.template = parseCommandTemplate(options.command);
    this.#timeout = checkSeconds('timeoutSeconds', options.timeoutSeconds, false);
    this.#grace = checkSeconds('killGraceSeconds', options.killGraceSeconds, true) ?? 5;
    const maxStdout = options.maxStdoutBytes ?? 1 << 20;
    if (!(Number.isInteger(maxStdout) && maxStdout >= 256)) {
      throw new InvalidArgumentError(`maxStdoutBytes must be an integer ≥ 256, got ${String(options.maxStdoutBytes)}`);
    }
    this.#maxStdout = maxStdout;
    this.#exportOnnx = options.onnx === true || this.template.placeholders.has('onnx');
    this.#options = options;
    this.name = options.name ?? `command(${this.template.argv[0]})`;
  }

  async evaluate(candidate: Candidate, context: EvaluationContext): Promise<Evaluation> {
    const what = `${this.name} for ${candidate.arch} (step ${context.step})`;
    throwIfAborted(context.signal, what);
    const values: Partial<Record<CommandPlaceholder, string>> = {
      arch: candidate.arch,
      space: candidate.space,
      step: String(context.step),
    };
    if (candidate.index !== undefined) values.index = String(candidate.index);
    let folder: string | undefined;
    try {
      if (this.#exportOnnx) {
        folder = await mkdtemp(join(tmpdir(), 'hnas-eval-'));
        values.onnx = join(folder, 'candidate.onnx');
        await writeOnnxFile(buildArchitecture(candidate.space, candidate.arch, this.#options.architecture), values.onnx);
        throwIfAborted(context.signal, what);
      }
      const argv = expandCommandTemplate(this.template, values);
      const run = await runProcess(argv, {
        cwd: this.#options.cwd,
        env: childEnv(this.#options.env, values),
        timeoutSeconds: this.#timeout,
        graceSeconds: this.#grace,
        maxStdoutBytes: this.#maxStdout,
        signal: context.signal,
        onOutput: this.#options.onOutput,
      });
      return interpret(run, `command ${formatCommandLine(argv)} for ${candidate.arch} (step ${context.step})`, this.#timeout);
    } finally {
      if (folder !== undefined) await rm(folder, { recursive: true, force: true });
    }
  }
}

function childEnv(extra: Readonly<Record<string, string>> | undefined, values: Partial<Record<CommandPlaceholder, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  const set = (key: string, value: string | undefined) => {
    if (value === undefined) delete env[key];
    else env[key] = value;
  };
  set('HNAS_ARCH', values.arch);
  set('HNAS_SPACE', values.space);
  set('HNAS_STEP', values.step);
  set('HNAS_INDEX', values.index);
  set('HNAS_ONNX', values.onnx);
  return env;
}

interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: TailBuffer;
  stderr: TailBuffer;
  seconds: number;
  killedFor: 'timeout' | 'abort' | null;
  spawnError: Error | null;
  abortReason: unknown;
  /** What onOutput threw, if it did; thrown once the command has finished. */
  outputError?: unknown;
}

interface RunOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  timeoutSeconds?: number;
  graceSeconds: number;
  maxStdoutBytes: number;
  signal?: AbortSignal;
  onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
}

const USE_PROCESS_GROUP = process.platform !== 'win32';
/** Least time the pipes stay open after the command exited. */
const DRAIN_SECONDS = 1;

/** Runs argv to completion (never rejects): every way it can end is a field of the result. */
function runProcess(argv: readonly string[], options: RunOptions): Promise<ProcessResult> {
  const stdout = new TailBuffer(options.maxStdoutBytes);
  const stderr = new TailBuffer(STDERR_TAIL_BYTES);
  const start = performance.now();
  return new Promise((resolve) => {
    const result: ProcessResult = {
      exitCode: null,
      signal: null,
      stdout,
      stderr,
      seconds: 0,
      killedFor: null,
      spawnError: null,
      abortReason: undefined,
    };
    const timers: NodeJS.Timeout[] = [];
    let exited = false;
    let settled = false;

    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(argv[0], argv.slice(1), {
        cwd: options.cwd,
        env: options.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: USE_PROCESS_GROUP,
        windowsHide: true,
      });
    } catch (error) {
      // Synchronous failures (e.g. a NUL byte in an argument).
      result.spawnError = error instanceof Error ? error : new Error(String(error));
      resolve(result);
      return;
    }

    const signalAll = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      if (USE_PROCESS_GROUP) {
        try {
          process.kill(-child.pid, sig);
          return;
        } catch {
          // The group is gone (or was never formed): fall back to the child itself.
        }
      }
      if (!exited) child.kill(sig);
    };
    const terminate = (why: 'timeout' | 'abort') => {
      if (settled || exited || result.killedFor !== null) return;
      result.killedFor = why;
      signalAll('SIGTERM');
      timers.push(setTimeout(() => signalAll('SIGKILL'), options.graceSeconds * 1000));
    };
    const onAbort = () => {
      result.abortReason = options.signal?.reason;
      terminate('abort');
    };
    const finish = () => {
      if (settled) return;
      settled = true;
      if (result.seconds === 0) result.seconds = (performance.now() - start) / 1000;
      for (const t of timers) clearTimeout(t);
      options.signal?.removeEventListener('abort', onAbort);
      // What we killed stays killed: take down any member of the group that outlived the leader.
      if (result.killedFor !== null) signalAll('SIGKILL');
      resolve(result);
    };

    const forward = (stream: 'stdout' | 'stderr', chunk: Buffer) => {
      if (!options.onOutput || result.outputError !== undefined) return;
      try {
        options.onOutput(stream, chunk);
      } catch (error) {
        // A throw here would be uncaught (an event handler): keep it for the caller, stop forwarding.
        result.outputError = error;
      }
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      forward('stdout', chunk);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      forward('stderr', chunk);
    });
    child.on('error', (error) => {
      // 'error' also reports a failed kill; only a failed start ends the run here.
      if (child.pid === undefined) {
        result.spawnError = error;
        finish();
      }
    });
    child.on('exit', (code, sig) => {
      exited = true;
      result.exitCode = code;
      result.signal = sig;
      result.seconds = (performance.now() - start) / 1000;
      // A leftover process of the group may hold the pipes open: give it a while (at least
      // DRAIN_SECONDS, so buffered output is read), then kill the group and close the pipes.
      timers.push(
        setTimeout(() => {
          signalAll('SIGKILL');
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, Math.max(options.graceSeconds, DRAIN_SECONDS) * 1000),
      );
    });
    child.on('close', finish);

    if (options.timeoutSeconds !== undefined) {
      timers.push(setTimeout(() => terminate('timeout'), options.timeoutSeconds * 1000));
    }
    if (options.signal) {
      if (options.signal.aborted) onAbort();
      else options.signal.addEventListener('abort', onAbort, { once: true });
    }
  });
}

/** The Evaluation of a finished run, or the error that says why there is none. */
function interpret(run: ProcessResult, what: string, timeout: number | undefined): Evaluation {
  const seconds = run.seconds;
  const details = { exitCode: run.exitCode, signal: run.signal, cost: seconds };
  if (run.spawnError) {
    throw new EvaluationError('spawn', `${what}: could not start: ${run.spawnError.message}`, { cause: run.spawnError, cost: seconds });
  }
  if (run.killedFor === 'abort') throw new AbortedError(`${what} aborted`, { cause: run.abortReason });
  if (run.outputError !== undefined) throw run.outputError;
  if (run.killedFor === 'timeout') {
    throw new EvaluationError('timeout', `${what}: killed after the ${timeout} s time limit${stderrPart(run)}`, details);
  }
  if (run.signal !== null) throw new EvaluationError('signal', `${what}: killed by ${run.signal}${stderrPart(run)}`, details);
  if (run.exitCode !== 0) throw new EvaluationError('exit', `${what}: exited with code ${run.exitCode}${stderrPart(run)}`, details);

  const text = run.stdout.text();
  const lines = text.split('\n');
  let last = lines.length - 1;
  while (last >= 0 && lines[last].trim() === '') last--;
  if (last < 0) {
    const expected = 'expected JSON {"accuracy": …} last on stdout';
    throw new EvaluationError('malformed', `${what}: printed no result line (${expected})${stderrPart(run)}`, details);
  }
  if (last === 0 && run.stdout.truncated) {
    throw new EvaluationError('malformed', `${what}: its last stdout line is longer than the ${run.stdout.limit} bytes kept`, details);
  }
  const line = lines[last].trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (cause) {
    throw new EvaluationError('malformed', `${what}: last stdout line is not JSON: ${excerpt(line)}`, { ...details, cause });
  }
  const value =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? { ...parsed, cost: (parsed as { cost?: unknown }).cost ?? seconds }
      : parsed;
  return validateEvaluation(value, `${what}: result line ${excerpt(line)}`, { cost: seconds });
}

function stderrPart(run: ProcessResult): string {
  let text = run.stderr.text();
  // Drop a line cut by the byte limit, so the message starts on a whole line.
  if (run.stderr.truncated && text.includes('\n')) text = text.slice(text.indexOf('\n') + 1);
  text = text.trimEnd();
  return text === '' ? ' (stderr empty)' : `; stderr${run.stderr.truncated ? ' (last lines)' : ''}:\n${text}`;
}

function excerpt(line: string): string {
  return JSON.stringify(line.length > 200 ? `${line.slice(0, 200)}…` : line);
}

function checkSeconds(name: string, value: number | undefined, zeroOk: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || (!zeroOk && value === 0)) {
    throw new InvalidArgumentError(`${name} must be a finite number of seconds ${zeroOk ? '≥ 0' : '> 0'}, got ${String(value)}`);
  }
  return value;
}

/** The last `limit` bytes of a stream; memory stays under about twice the limit. */
class TailBuffer {
  readonly limit: number;
  #chunks: Buffer[] = [];
  #size = 0;
  #truncated = false;

  constructor(limit: number) {
    this.limit = limit;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size > 2 * this.limit) this.#compact();
  }

  /** Whether bytes were dropped from the front. */
  get truncated(): boolean {
    return this.#truncated || this.#size > this.limit;
  }

  text(): string {
    this.#compact();
    return Buffer.concat(this.#chunks).toString('utf8');
  }

  #compact(): void {
    if (this.#size <= this.limit) return;
    const all = Buffer.concat(this.#chunks);
    this.#chunks = [Buffer.from(all.subarray(all.length - this.limit))];
    this.#size = this.limit;
    this.#truncated = true;
  }
}
