/**
 * Sums over the "weights" (conv and linear weight tensors, fixture README
 * §3.1/§4) of a flat parameter vector and a gradient laid out like it.
 */
import type { ParamInfo } from '../engine/network.js';

/** Per-layer Σ f(w, g) over `weights`, reading params and grad at each tensor's offset in the flat vectors. */
export function perWeightLayer(
  weights: readonly ParamInfo[],
  params: ArrayLike<number>,
  grad: ArrayLike<number>,
  f: (w: number, g: number) => number,
): Float64Array {
  const out = new Float64Array(weights.length);
  weights.forEach((p, l) => {
    let s = 0;
    for (let i = p.offset; i < p.offset + p.size; i++) s += f(params[i], grad[i]);
    out[l] = s;
  });
  return out;
}

/** Σ over layers (float64, in layer order). */
export function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s;
}

/** The weights' entries of a flat vector, concatenated in `weights` order (hvp vectors, H·g). */
export function concatWeights<T extends Float32Array | Float64Array>(weights: readonly ParamInfo[], flat: T): T {
  const total = weights.reduce((s, p) => s + p.size, 0);
  const out = new (flat.constructor as { new (n: number): T })(total);
  let o = 0;
  for (const p of weights) {
    out.set(flat.subarray(p.offset, p.offset + p.size), o);
    o += p.size;
  }
  return out;
}

/**
 * ‖W‖₂ over the weights, and how many weight tensors there are: what `hnas
 * unify` needs for the Cauchy–Schwarz bounds of snip, plain and grad_norm.
 */
export function weightNormExtras(weights: readonly ParamInfo[], params: ArrayLike<number>): { weight_norm: number; weight_layers: number } {
  let s = 0;
  for (const p of weights) for (let i = p.offset; i < p.offset + p.size; i++) s += params[i] * params[i];
  return { weight_norm: Math.sqrt(s), weight_layers: weights.length };
}
