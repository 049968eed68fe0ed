/**
 * The contract between the metric registry, the probe and each metric.
 *
 * A probe of one architecture runs each native computation at most once
 * (one forward, one backward, one Θ, one Hessian-vector product, …) and
 * keeps the results in a ProbeData. Each metric declares what it needs and
 * computes its value from the ProbeData alone. Failures are typed results on
 * that metric (never sentinel numbers) and never stop a batch run.
 */
import type { Network, ParamInfo } from '../engine/network.js';

export type MetricId =
  | 'ntk_trace'
  | 'ntk_cond'
  | 'te_nas_cond'
  | 'te_nas_trace'
  | 'grad_norm'
  | 'grad_norm_global'
  | 'snip'
  | 'grasp'
  | 'plain'
  | 'fisher'
  | 'synflow'
  | 'log_synflow'
  | 'jacob_cov'
  | 'naswot'
  | 'naswot_distinct'
  | 'knas'
  | 'zico'
  | 'params'
  | 'macs';

/**
 * The native computations a metric can depend on; the probe runs the union
 * of its metrics' needs, each once.
 *  - `gradient`: one train-mode forward + backward of the mean CE loss (all trainable parameters)
 *  - `theta_decomposed`: Θ of the true-class logits, decomposed per-sample gradients, weights + biases
 *  - `theta_exact`: Θ of the summed logits, exact per-sample gradients, params named *weight* (TE-NAS)
 *  - `hvp`: H·g over the weights, g = the weights' gradient (needs `gradient`)
 *  - `input_gradient`: ∂(Σ logits)/∂input (one backward)
 *  - `synflow`: a float64 copy with |θ|, BN removed, all-ones input: ∂(Σ logits)/∂θ
 *  - `loss_jacobian`: decomposed per-sample gradients of the per-sample loss over the weights
 *  - `relu_kernel`: the NASWOT kernel over ReLU inputs
 *  - `layer_fisher`: per-conv/linear-layer Σ_hw a·∂L/∂a per sample and channel
 */
export type ProbeNeed =
  | 'gradient'
  | 'theta_decomposed'
  | 'theta_exact'
  | 'hvp'
  | 'input_gradient'
  | 'synflow'
  | 'loss_jacobian'
  | 'relu_kernel'
  | 'layer_fisher';

export interface MetricError {
  code: string;
  message: string;
}

export type MetricResult =
  | { ok: true; value: number; extras?: Record<string, number | boolean> }
  | { ok: false; error: MetricError };

/** What the probe computed; each field is present when some metric needed it. */
export interface ProbeData {
  network: Network;
  batchSize: number;
  /** The parameters called "weights" by the metrics: conv and linear weights, in graph order. */
  weights: ParamInfo[];
  params: Float32Array | Float64Array;
  gradient?: { loss: number; grad: Float32Array | Float64Array };
  thetaDecomposed?: Float64Array;
  thetaExact?: Float64Array;
  /** H·g over `weights`, concatenated. */
  hvp?: Float32Array | Float64Array;
  /** NCHW, N × (C·H·W). */
  inputGradient?: Float32Array | Float64Array;
  synflow?: { params: Float64Array; grad: Float64Array; weights: ParamInfo[]; output: number };
  /** N × P_w, rows = samples, columns = `weights` concatenated. */
  lossJacobian?: Float32Array | Float64Array;
  /**
   * N × N NASWOT kernels: weighted by consumers (naswot) and distinct ReLU
   * inputs (naswot_distinct), with the engine's counts when it reports them.
   */
  reluKernel?: {
    weighted: Float64Array;
    distinct: Float64Array;
    /** Relu nodes in the graph. */
    reluNodes?: number;
    /** ReLU modules in the peers' count (Σ of the consumer weights). */
    reluModules?: number;
    /** Distinct tensors read by Relu nodes. */
    distinctInputs?: number;
    /** Units per sample, weighted convention. */
    unitsPerSample?: number;
    /** Units per sample, distinct convention. */
    distinctUnitsPerSample?: number;
  };
  /** Per layer (weights order): F_k summed over channels as the metric defines. */
  layerFisher?: Float64Array;
  /** The engine's total of the per-layer fisher scores (the `fisher` value). */
  layerFisherTotal?: number;
}

export interface MetricDef {
  id: MetricId;
  /** One line for --help and docs. */
  description: string;
  needs: readonly ProbeNeed[];
  /** Direction of "better" for ranking. */
  higherIsBetter: boolean;
  /** Whether the metric is gradient-based (and so bounded by the NTK trace norm in `hnas unify`). */
  gradientBased: boolean;
  compute(data: ProbeData): MetricResult;
}
