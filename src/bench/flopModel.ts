/**
 * A FLOP model of the probe's native computations, so that a measured time
 * becomes an achieved GFLOP/s and can be held against the machine's peak.
 * Counts are the dense arithmetic of the textbook algorithm (one multiply-add
 * = 2 FLOPs); element-wise passes (BN, ReLU, pooling) are left out, so the
 * achieved rate is a lower bound on the arithmetic the engine did.
 */
import type { ProbeNeed } from '../metrics/types.js';

export interface FlopInputs {
  /** Multiply-accumulates of one sample's forward pass. */
  macsPerSample: number;
  batch: number;
  /** Parameters in Θ's parameter set (decomposed Θ: weights and biases). */
  thetaParams: number;
  /** Parameters in TE-NAS' set (params named *weight*). */
  teNasParams: number;
}

/**
 * FLOPs of each need. F = 2·MACs·N is one forward pass over the batch; a
 * backward pass costs 2F (data and weight gradients); Θ = JJᵀ adds 2·N²·P.
 *  - gradient: F + 2F
 *  - theta_decomposed: F + 2F (per-sample weight-gradient rows cost what the batch weight gradient costs) + 2N²P
 *  - theta_exact: F + N backward passes of 2F + 2N²P_te
 *  - hvp: forward-over-reverse on dual numbers, each dual GEMM three real GEMMs: 3·3F
 *  - input_gradient: F + F (data gradient only)
 *  - relu_kernel: F (its N×N sign GEMMs are not counted: they depend on the ReLU widths)
 *  - layer_fisher, loss_jacobian: F + 2F
 *  - synflow: one sample in float64: 3·2·MACs
 */
export function needFlops(need: ProbeNeed, x: FlopInputs): number {
  const F = 2 * x.macsPerSample * x.batch;
  const N = x.batch;
  switch (need) {
    case 'gradient':
    case 'layer_fisher':
    case 'loss_jacobian':
      return 3 * F;
    case 'theta_decomposed':
      return 3 * F + 2 * N * N * x.thetaParams;
    case 'theta_exact':
      return F + N * 2 * F + 2 * N * N * x.teNasParams;
    case 'hvp':
      return 9 * F;
    case 'input_gradient':
      return 2 * F;
    case 'relu_kernel':
      return F;
    case 'synflow':
      return 6 * x.macsPerSample;
  }
}
