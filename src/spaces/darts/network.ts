/**
 * DARTS' evaluation network (`NetworkCIFAR` in DARTS' model.py, with the ops
 * of operations.py) as a GraphSpec for the native engine.
 *
 * Structure, for C channels and L layers:
 * - stem: Conv3x3(3 → 3C, pad 1, no bias), BN;
 * - L cells; cells ⌊L/3⌋ and ⌊2L/3⌋ are reduction cells (stride 2, channels
 *   doubled). Cell i with C_i channels per node: preprocess0 =
 *   FactorizedReduce(C_prev_prev, C_i) after a reduction cell, else
 *   ReLUConvBN(C_prev_prev, C_i, 1×1); preprocess1 = ReLUConvBN(C_prev, C_i,
 *   1×1); then the genotype's 8 ops (edges from states 0 and 1 of a
 *   reduction cell have stride 2), node = sum of its two ops, output =
 *   concat of the `concat` states (C_prev = |concat|·C_i afterwards);
 * - global average pool, Linear(C_prev → classes).
 * Ops: sep_conv_k = [ReLU, dw conv k (stride s), conv1x1, BN, ReLU, dw conv
 * k, conv1x1, BN]; dil_conv_k = [ReLU, dw conv k dilation 2, conv1x1, BN];
 * max_pool_3x3 / avg_pool_3x3 (count_include_pad=False) with pad 1;
 * skip_connect = identity, or FactorizedReduce when stride 2 (ReLU, two
 * 1×1 stride-2 convs, the second on x[:, :, 1:, 1:], concatenated, BN).
 * Convs have no bias; every BN is affine (eps 1e-5, momentum 0.1; see
 * `opsAffine`). No drop-path (training-only: src/train/dropPath.ts).
 *
 * Auxiliary head (training-only, `auxiliary: true`): DARTS'
 * AuxiliaryHeadCIFAR on the output of cell ⌊2L/3⌋ (the second reduction
 * cell, 8×8 for 32×32 inputs): ReLU, AvgPool 5 stride 3 (no padding) → 2×2,
 * Conv1x1(C → 128), BN, ReLU, Conv2x2(128 → 768) → 1×1, BN, ReLU, Linear(768
 * → classes). The network's output is then the concatenation [main logits |
 * auxiliary logits] (2·classes features); train it with loss heads
 * {0, classes, 1} + {classes, classes, w} (DARTS: w = 0.4) and evaluate the
 * network built without the head, whose parameters are the same by name.
 *
 * Parameter names are DARTS' PyTorch state_dict keys, so weights can be
 * exchanged with a DARTS checkpoint by name:
 *   stem.0.weight, stem.1.{weight,bias,running_mean,running_var}
 *   cells.{i}.preprocess0.op.{1,2}.*            (ReLUConvBN)
 *   cells.{i}.preprocess0.{conv_1,conv_2,bn}.*  (FactorizedReduce)
 *   cells.{i}.preprocess1.op.{1,2}.*
 *   cells.{i}._ops.{j}.op.{1,2,3,5,6,7}.*       (sep_conv; j = pair index 0..7)
 *   cells.{i}._ops.{j}.op.{1,2,3}.*             (dil_conv)
 *   cells.{i}._ops.{j}.{conv_1,conv_2,bn}.*     (skip_connect with stride 2)
 *   auxiliary_head.features.{2,3,5,6}.*, auxiliary_head.classifier.*  (auxiliary only)
 *   classifier.{weight,bias}
 * Parameters are created in that module order, as PyTorch lists them.
 *
 * Spatial sizes: every reduction halves H and W exactly, so the input size
 * must be divisible by 2^(number of reduction cells) (32 → 16 → 8 for
 * CIFAR); DARTS' FactorizedReduce needs even sizes in the same way.
 */
import type { GraphSpec } from '../../engine/graphSpec.js';
import { InternalError, InvalidArgumentError } from '../../errors.js';
import { GraphBuilder } from '../graphBuilder.js';
import { INIT_SCHEMES, type InitScheme } from '../init.js';
import { Rng } from '../rng.js';
import { validateGenotype, type DartsOp, type Genotype } from './genotype.js';

export interface DartsNetworkOptions {
  /** Initial channels C (DARTS: 36 for evaluation, 16 for search). Default 36; must be even. */
  channels?: number;
  /** Number of cells (DARTS: 20 for evaluation, 8 for search). Default 20. */
  layers?: number;
  /** Default 10 (CIFAR-10). */
  numClasses?: number;
  /** Square input side; default 32. Must be divisible by 2^(reduction cells). */
  inputSize?: number;
  /**
   * Build DARTS' auxiliary head (training-only): the output becomes [main |
   * auxiliary] logits, 2·numClasses features. Default false.
   */
  auxiliary?: boolean;
  /** Seed of the parameter initialisation; default 0. */
  seed?: number | bigint;
  /** Initialisation scheme (src/spaces/init.ts); default `pytorch`. */
  init?: InitScheme;
  /**
   * `affine` of the BNs inside the cell ops (DARTS' `OPS[name](C, stride,
   * affine)`); default true, as NetworkCIFAR. The stem and the
   * preprocessing BNs stay affine either way. `false` gives the network
   * whose parameter count NAS-Bench-301's zero-cost data (NASLib) reports,
   * at C = 32, 8 layers.
   */
  opsAffine?: boolean;
}

/** What one cell of a built network looks like (per-sample shapes [C, H, W]). */
export interface DartsCellInfo {
  index: number;
  reduction: boolean;
  reductionPrev: boolean;
  /** Channels of each node (C_i). */
  channels: number;
  /** Shapes of the cell's two inputs s0, s1 (before preprocessing). */
  inputShapes: [number[], number[]];
  outputShape: number[];
  /** Tensor name of the cell output in the spec. */
  output: string;
}

export interface DartsGraph {
  spec: GraphSpec;
  /** With `auxiliary`: the classes of each head; the output is [main | auxiliary]. */
  auxiliary?: { classes: number; cell: number };
  stemShape: number[];
  cells: DartsCellInfo[];
}

/** Indices of the reduction cells of an L-cell network: ⌊L/3⌋ and ⌊2L/3⌋ (as DARTS' NetworkCIFAR). */
export function dartsReductionCells(layers: number): number[] {
  return [...new Set([Math.floor(layers / 3), Math.floor((2 * layers) / 3)])].filter((i) => i < layers);
}

function positiveInt(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new InvalidArgumentError(`DARTS network: ${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

/** The pieces of operations.py, emitted into a GraphBuilder. */
class DartsOps {
  constructor(
    readonly b: GraphBuilder,
    readonly affine: boolean,
  ) {}

  reluConvBn(scope: string, x: string, cout: number, k: number, stride: number, pad: number): string {
    const r = this.b.relu(`${scope}.op.0`, x);
    const c = this.b.conv(`${scope}.op.1`, r, cout, k, { stride, pad });
    return this.b.batchNorm(`${scope}.op.2`, c);
  }

  factorizedReduce(scope: string, x: string, cout: number, affine = true): string {
    const [, h, w] = this.b.shape(x);
    const r = this.b.relu(`${scope}.relu`, x);
    const c1 = this.b.conv(`${scope}.conv_1`, r, cout / 2, 1, { stride: 2 });
    const shifted = this.b.slice(`${scope}.shift`, r, [1, 1], [h, w]);
    const c2 = this.b.conv(`${scope}.conv_2`, shifted, cout / 2, 1, { stride: 2 });
    const s1 = this.b.shape(c1), s2 = this.b.shape(c2);
    if (s1[1] !== s2[1] || s1[2] !== s2[2]) {
      throw new InternalError(`${scope}: FactorizedReduce halves differ in size (${s1.join('×')} vs ${s2.join('×')}) for a ${h}×${w} input`);
    }
    const cat = this.b.concat(`${scope}.cat`, [c1, c2]);
    return this.b.batchNorm(`${scope}.bn`, cat, { affine });
  }

  sepConv(scope: string, x: string, cout: number, k: number, stride: number): string {
    const cin = this.b.shape(x)[0];
    const pad = Math.floor(k / 2);
    let y = this.b.relu(`${scope}.op.0`, x);
    y = this.b.conv(`${scope}.op.1`, y, cin, k, { stride, pad, groups: cin });
    y = this.b.conv(`${scope}.op.2`, y, cin, 1);
    y = this.b.batchNorm(`${scope}.op.3`, y, { affine: this.affine });
    y = this.b.relu(`${scope}.op.4`, y);
    y = this.b.conv(`${scope}.op.5`, y, cin, k, { stride: 1, pad, groups: cin });
    y = this.b.conv(`${scope}.op.6`, y, cout, 1);
    return this.b.batchNorm(`${scope}.op.7`, y, { affine: this.affine });
  }

  dilConv(scope: string, x: string, cout: number, k: number, stride: number): string {
    const cin = this.b.shape(x)[0];
    let y = this.b.relu(`${scope}.op.0`, x);
    y = this.b.conv(`${scope}.op.1`, y, cin, k, { stride, pad: Math.floor(k / 2) * 2, dilation: 2, groups: cin });
    y = this.b.conv(`${scope}.op.2`, y, cout, 1);
    return this.b.batchNorm(`${scope}.op.3`, y, { affine: this.affine });
  }

  /** OPS[name](C, stride, affine=True) applied to x. */
  op(name: DartsOp, scope: string, x: string, c: number, stride: number): string {
    switch (name) {
      case 'max_pool_3x3':
        return this.b.maxPool(scope, x, 3, stride, 1);
      case 'avg_pool_3x3':
        return this.b.avgPool(scope, x, 3, stride, 1, false);
      case 'skip_connect':
        return stride === 1 ? x : this.factorizedReduce(scope, x, c, this.affine);
      case 'sep_conv_3x3':
        return this.sepConv(scope, x, c, 3, stride);
      case 'sep_conv_5x5':
        return this.sepConv(scope, x, c, 5, stride);
      case 'dil_conv_3x3':
        return this.dilConv(scope, x, c, 3, stride);
      case 'dil_conv_5x5':
        return this.dilConv(scope, x, c, 5, stride);
    }
  }
}

/** Builds the network and reports each cell's shapes (see buildDartsNetwork). */
export function buildDartsGraph(genotype: Genotype, options: DartsNetworkOptions = {}): DartsGraph {
  validateGenotype(genotype);
  const C = positiveInt('channels', options.channels ?? 36);
  if (C % 2 !== 0) throw new InvalidArgumentError(`DARTS network: channels must be even (FactorizedReduce splits them in two), got ${C}`);
  const layers = positiveInt('layers', options.layers ?? 20);
  const numClasses = positiveInt('numClasses', options.numClasses ?? 10);
  const size = positiveInt('inputSize', options.inputSize ?? 32);
  const auxiliary = options.auxiliary ?? false;
  if (typeof auxiliary !== 'boolean') throw new InvalidArgumentError(`DARTS network: auxiliary must be a boolean, got ${String(auxiliary)}`);
  const init = options.init ?? 'pytorch';
  if (!INIT_SCHEMES.includes(init)) throw new InvalidArgumentError(`DARTS network: unknown init scheme "${String(init)}"`);
  const reductions = dartsReductionCells(layers);
  const factor = 2 ** reductions.length;
  if (size % factor !== 0) {
    throw new InvalidArgumentError(
      `DARTS network: inputSize ${size} is not divisible by ${factor} (${reductions.length} reduction cells halve it exactly)`,
    );
  }

  const b = new GraphBuilder([3, size, size], new Rng(options.seed ?? 0), init);
  const opsAffine = options.opsAffine ?? true;
  if (typeof opsAffine !== 'boolean') throw new InvalidArgumentError(`DARTS network: opsAffine must be a boolean, got ${String(opsAffine)}`);
  const ops = new DartsOps(b, opsAffine);

  // Stem: Conv3x3(3 → 3C) + BN.
  let cCurr = 3 * C;
  const stemConv = b.conv('stem.0', b.inputName, cCurr, 3, { pad: 1 });
  const stem = b.batchNorm('stem.1', stemConv);

  let s0 = stem;
  let s1 = stem;
  cCurr = C;
  let reductionPrev = false;
  const cells: DartsCellInfo[] = [];
  const auxCell = Math.floor((2 * layers) / 3);
  for (let i = 0; i < layers; i++) {
    const reduction = reductions.includes(i);
    if (reduction) cCurr *= 2;
    const scope = `cells.${i}`;
    const inputShapes: [number[], number[]] = [[...b.shape(s0)], [...b.shape(s1)]];

    const p0 = reductionPrev
      ? ops.factorizedReduce(`${scope}.preprocess0`, s0, cCurr)
      : ops.reluConvBn(`${scope}.preprocess0`, s0, cCurr, 1, 1, 0);
    const p1 = ops.reluConvBn(`${scope}.preprocess1`, s1, cCurr, 1, 1, 0);

    const pairs = reduction ? genotype.reduce : genotype.normal;
    const concat = reduction ? genotype.reduceConcat : genotype.normalConcat;
    const states = [p0, p1];
    for (let node = 0; node < pairs.length / 2; node++) {
      const h: string[] = [];
      for (const j of [2 * node, 2 * node + 1]) {
        const [name, input] = pairs[j];
        const stride = reduction && input < 2 ? 2 : 1;
        h.push(ops.op(name, `${scope}._ops.${j}`, states[input], cCurr, stride));
      }
      states.push(b.add(`${scope}.node${node + 2}`, h[0], h[1]));
    }
    const out = b.concat(`${scope}.concat`, concat.map((s) => states[s]));
    cells.push({ index: i, reduction, reductionPrev, channels: cCurr, inputShapes, outputShape: [...b.shape(out)], output: out });

    s0 = s1;
    s1 = out;
    reductionPrev = reduction;
  }

  // PyTorch registers auxiliary_head after the cells and before the classifier.
  const aux = auxiliary ? auxiliaryHead(b, cells[auxCell].output, numClasses) : undefined;
  const pooled = b.globalAvgPool('global_pooling', s1);
  const main = b.linear('classifier', pooled, numClasses);
  if (aux === undefined) return { spec: b.build(main), stemShape: [...b.shape(stem)], cells };
  const logits = b.concat('logits_with_auxiliary', [main, aux]);
  return { spec: b.build(logits), stemShape: [...b.shape(stem)], cells, auxiliary: { classes: numClasses, cell: auxCell } };
}

/** DARTS' AuxiliaryHeadCIFAR on x (8×8 expected; any size the head reduces to 1×1). */
function auxiliaryHead(b: GraphBuilder, x: string, numClasses: number): string {
  const [, h, w] = b.shape(x);
  const pooled = (s: number) => Math.floor((s - 5) / 3) + 1;
  if (!(h >= 5 && w >= 5 && pooled(h) === 2 && pooled(w) === 2)) {
    throw new InvalidArgumentError(
      `DARTS network: the auxiliary head needs an 8×8 input (AvgPool 5/3 then a 2×2 conv reduce it to 1×1); cell output is ${h}×${w} (use inputSize 32)`,
    );
  }
  const scope = 'auxiliary_head';
  let y = b.relu(`${scope}.features.0`, x);
  y = b.avgPool(`${scope}.features.1`, y, 5, 3, 0, false);
  y = b.conv(`${scope}.features.2`, y, 128, 1);
  y = b.batchNorm(`${scope}.features.3`, y);
  y = b.relu(`${scope}.features.4`, y);
  y = b.conv(`${scope}.features.5`, y, 768, 2);
  y = b.batchNorm(`${scope}.features.6`, y);
  y = b.relu(`${scope}.features.7`, y);
  y = b.flatten(`${scope}.flatten`, y);
  return b.linear(`${scope}.classifier`, y, numClasses);
}

/**
 * DARTS' NetworkCIFAR for a genotype as a GraphSpec (for Network.create or
 * the ONNX exporter). DARTS-V2 at C = 36, 20 layers has 3,349,342 trainable
 * parameters, the paper's "3.3M".
 */
export function buildDartsNetwork(genotype: Genotype, options: DartsNetworkOptions = {}): GraphSpec {
  return buildDartsGraph(genotype, options).spec;
}
