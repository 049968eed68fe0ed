/**
 * DARTS' drop-path (model.py `drop_path`): during training, each output of a
 * cell op that is not an identity is multiplied, per sample, by
 * mask/keepProb with mask ~ Bernoulli(keepProb), keepProb = 1 − p. In hnas
 * the engine applies caller-drawn per-sample factors to named tensors
 * (Network.gradient's `sampleScales`), so the masks are drawn here, from the
 * trainer's seeded per-epoch stream, and the graph itself is unchanged
 * (the exported model has no drop-path, as DARTS' eval mode).
 *
 * DARTS raises p linearly over training: epoch e of E uses p·e/E
 * (`model.drop_path_prob = args.drop_path_prob * epoch / args.epochs`).
 */
import type { GraphSpec } from '../engine/graphSpec.js';
import { InvalidArgumentError } from '../errors.js';
import type { Rng } from '../spaces/rng.js';

/**
 * The tensors drop-path acts on in a DARTS network built by
 * src/spaces/darts/network.ts: the inputs of each cell node's sum
 * (`cells.{i}.node{k}`) that are outputs of that cell's ops
 * (`cells.{i}._ops.{j}…`) — every op but skip_connect with stride 1, whose
 * output is the state itself. Empty for a network with no such cells (NB201).
 */
export function dartsDropPathTensors(spec: GraphSpec): string[] {
  const producer = new Map<string, string>();
  for (const node of spec.nodes) for (const out of node.outputs) producer.set(out, node.name);
  const out: string[] = [];
  for (const node of spec.nodes) {
    if (node.op !== 'add') continue;
    const m = /^cells\.(\d+)\.node\d+\//.exec(node.name);
    if (!m) continue;
    const opScope = `cells.${m[1]}._ops.`;
    for (const t of node.inputs) {
      if ((producer.get(t) ?? '').startsWith(opScope) && !out.includes(t)) out.push(t);
    }
  }
  return out;
}

/** The drop-path probability of epoch `epoch` of `epochs` for a final rate `p` (DARTS: p·epoch/epochs). */
export function dropPathProbability(p: number, epoch: number, epochs: number): number {
  return (p * epoch) / epochs;
}

/**
 * Factors [tensors][n] for one batch: each 0 (dropped, probability `prob`) or
 * 1/(1 − prob), drawn tensor by tensor, sample by sample (rng.next() < keep
 * keeps). `prob` = 0 gives all ones without consuming the generator.
 */
export function drawDropPathFactors(rng: Rng, tensors: number, n: number, prob: number): Float64Array {
  if (!(Number.isFinite(prob) && prob >= 0 && prob < 1)) {
    throw new InvalidArgumentError(`drop-path probability must lie in [0, 1), got ${prob}`);
  }
  const out = new Float64Array(tensors * n);
  if (prob === 0) return out.fill(1);
  const keep = 1 - prob;
  const scale = 1 / keep;
  for (let i = 0; i < out.length; i++) out[i] = rng.next() < keep ? scale : 0;
  return out;
}
