/**
 * The NB201 metric table shipped in the package (data/scores/): ntk_trace and
 * ntk_cond for one cell of each of the 6,466 isomorphism classes, computed by
 * this project's `hnas score --all --unique` (command and settings in
 * data/scores/README.md). With it the default hybrid search needs no probe.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ScoreSettings } from '../../cli/commands/score.js';

export const NB201_BUNDLED_SCORES = 'nb201-unique-hnas-b32.jsonl';

/** The settings the bundled table was scored with; rows computed on demand use the same. */
export const NB201_BUNDLED_SETTINGS: Readonly<ScoreSettings> = Object.freeze({ batch: 32, dtype: 'float32', dataSeed: 0, initSeed: 0, data: 'default' });

/** Absolute path of the bundled table, or undefined when the package was installed without it. */
export function bundledScoresPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'data', 'scores', NB201_BUNDLED_SCORES);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}
