/**
 * ‖θ₀‖ and the weight-layer count for rows scored before snip, plain and
 * grad_norm recorded them as extras: the initialisation is deterministic
 * (space, architecture, init seed), so the network is rebuilt — no forward
 * pass — and the same weights the metrics used are measured. Float32, as the
 * scores were.
 */
import { Network } from '../engine/network.js';
import { weightNormExtras } from '../metrics/weightSums.js';
import type { ScoreRecord, ScoreTable } from '../score/scoreFile.js';
import { SPACES, buildArchitecture, type SpaceName } from '../spaces/architecture.js';

const NEEDS: readonly [string, string][] = [
  ['snip', 'weight_norm'],
  ['plain', 'weight_norm'],
  ['grad_norm', 'weight_layers'],
];

function missing(row: ScoreRecord): [string, string][] {
  return NEEDS.filter(([id, key]) => typeof row.metrics[id] === 'number' && typeof row.extras?.[id]?.[key] !== 'number');
}

/** Fills the missing extras in place; returns how many rows were rebuilt (rows of ONNX models are left as they are). */
export function fillWeightNormExtras(table: ScoreTable): number {
  let rebuilt = 0;
  for (const row of table.rows) {
    const gaps = missing(row);
    if (gaps.length === 0 || !SPACES.includes(row.space as SpaceName)) continue;
    const seed = typeof row.settings?.initSeed === 'number' ? row.settings.initSeed : 0;
    const network = Network.create(buildArchitecture(row.space as SpaceName, row.arch, { seed }), { dtype: 'float32' });
    try {
      const extras = weightNormExtras(network.selectParams('weights'), network.getParams());
      row.extras ??= {};
      for (const [id, key] of gaps) row.extras[id] = { ...row.extras[id], [key]: extras[key as keyof typeof extras] };
    } finally {
      network.dispose();
    }
    rebuilt++;
  }
  return rebuilt;
}
