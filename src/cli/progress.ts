/**
 * Progress of a long CLI run: on a terminal, one line on stderr rewritten in
 * place ("scored 12/300 (3 skipped) 1.8 arch/s ETA 2m40s"); in a pipe,
 * nothing until the one-line summary.
 */

export interface ProgressOptions {
  /** Items to do in this run (skipped ones not counted). */
  total: number;
  /** Items found already done. */
  skipped: number;
  /** Whether to draw the live line; default process.stderr.isTTY. */
  live?: boolean;
  /** Where the live line goes; default process.stderr.write. */
  write?: (text: string) => void;
  /** Where the summary goes; default console.error. */
  summary?: (line: string) => void;
  /** Clock in milliseconds; default performance.now. */
  now?: () => number;
}

/** "2m40s", "1h02m", "12s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class Progress {
  readonly total: number;
  readonly skipped: number;
  done = 0;
  readonly #live: boolean;
  readonly #write: (text: string) => void;
  readonly #summary: (line: string) => void;
  readonly #now: () => number;
  readonly #start: number;
  #lastDraw = -Infinity;

  constructor(options: ProgressOptions) {
    this.total = options.total;
    this.skipped = options.skipped;
    this.#live = options.live ?? process.stderr.isTTY === true;
    this.#write = options.write ?? ((t) => void process.stderr.write(t));
    this.#summary = options.summary ?? ((l) => console.error(l));
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
    this.#draw(true);
  }

  get elapsedSeconds(): number {
    return (this.#now() - this.#start) / 1000;
  }

  /** The status line without ETA logic side effects. */
  line(): string {
    const elapsed = this.elapsedSeconds;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const left = this.total - this.done;
    const eta = rate > 0 ? formatDuration(left / rate) : '?';
    return `scored ${this.done}/${this.total} (${this.skipped} skipped) ${rate.toFixed(1)} arch/s ETA ${eta}`;
  }

  tick(): void {
    this.done++;
    this.#draw(this.done === this.total);
  }

  /** Clears the live line and prints the summary. */
  finish(extra = ''): void {
    if (this.#live) this.#write('\r\x1b[2K');
    const elapsed = this.elapsedSeconds;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    this.#summary(
      `scored ${this.done}/${this.total} (${this.skipped} skipped) in ${formatDuration(elapsed)}, ${rate.toFixed(1)} arch/s${extra}`,
    );
  }

  #draw(force: boolean): void {
    if (!this.#live) return;
    const t = this.#now();
    if (!force && t - this.#lastDraw < 200) return;
    this.#lastDraw = t;
    this.#write(`\r\x1b[2K${this.line()}`);
  }
}
