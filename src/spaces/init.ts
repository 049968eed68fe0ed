/**
 * Parameter initialisation, seeded and deterministic. `pytorch` follows
 * PyTorch's defaults in distribution: Conv/Linear weights kaiming-uniform
 * with a = √5 (bound 1/√fan_in), biases uniform ±1/√fan_in, BN γ = 1, β = 0,
 * running mean 0, var 1. `kaiming_normal` (fan_out, ReLU gain, as
 * torchvision's ResNets) and `xavier` (uniform, gain 1) are the alternatives
 * for weights.
 */
import type { ParamKind } from '../engine/graphSpec.js';
import { InvalidArgumentError } from '../errors.js';
import type { Rng } from './rng.js';

export type InitScheme = 'pytorch' | 'kaiming_normal' | 'xavier';
export const INIT_SCHEMES: readonly InitScheme[] = ['pytorch', 'kaiming_normal', 'xavier'];

/** fan_in and fan_out of a weight [out, in/groups, kh, kw] or [out, in]. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/**
 * Values for one parameter. `weightShape` is the shape of the layer's
 * weight (biases draw their bound from its fan_in).
 */
export function initParam(
  kind: ParamKind,
  shape: readonly number[],
  rng: Rng,
  scheme: InitScheme = 'pytorch',
  weightShape: readonly number[] = shape,
): Float32Array {
  if (!INIT_SCHEMES.includes(scheme)) throw new InvalidArgumentError(`unknown init scheme "${scheme}"`);
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(size);
  switch (kind) {
    case 'bn_weight':
    case 'bn_running_var':
      out.fill(1);
      return out;
    case 'bn_bias':
    case 'bn_running_mean':
      return out;
    case 'conv_bias':
    case 'linear_bias': {
      const bound = 1 / Math.sqrt(fans(weightShape).fanIn);
      for (let i = 0; i < size; i++) out[i] = rng.uniform(-bound, bound);
      return out;
    }
    case 'conv_weight':
    case 'linear_weight': {
      const { fanIn, fanOut } = fans(shape);
      if (scheme === 'pytorch') {
        // kaiming_uniform_(a=√5): gain √(2/(1+5)) = √(1/3), bound = gain·√(3/fan_in) = 1/√fan_in.
        const bound = 1 / Math.sqrt(fanIn);
        for (let i = 0; i < size; i++) out[i] = rng.uniform(-bound, bound);
      } else if (scheme === 'kaiming_normal') {
        const std = Math.sqrt(2 / fanOut);
        for (let i = 0; i < size; i++) out[i] = std * rng.normal();
      } else {
        const bound = Math.sqrt(6 / (fanIn + fanOut));
        for (let i = 0; i < size; i++) out[i] = rng.uniform(-bound, bound);
      }
      return out;
    }
  }
}
