/**
 * Best-of-N wall-clock timing for the benchmark scripts: the minimum is the
 * least disturbed run on a shared machine.
 */

/** Seconds of the fastest of `reps` calls of a synchronous fn. */
export function bestOf(reps: number, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    fn();
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}

/** Seconds of the fastest of `reps` awaited calls. */
export async function bestOfAsync(reps: number, fn: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await fn();
    best = Math.min(best, (performance.now() - t) / 1000);
  }
  return best;
}
