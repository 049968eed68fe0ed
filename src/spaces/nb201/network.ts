/**
 * NAS-Bench-201's `TinyNetwork` as AutoDL builds it, as a GraphSpec for the
 * native engine, with the parameter names, shapes and order of the PyTorch
 * state_dict (and so of the fixture ONNX models):
 *
 *   stem        Conv3×3 pad 1 (no bias) → BN                       `stem.conv`, `stem.bn`
 *   stage 1     N InferCells at C channels, H×W                     `cells.{k}.edge{i}to{j}.{conv,bn}`
 *   reduction   ResNetBasicblock C → 2C, stride 2                   `cells.{N}.{conv_a,conv_b,shortcut}`
 *   stage 2     N InferCells at 2C, H/2
 *   reduction   2C → 4C                                             `cells.{2N+1}.…`
 *   stage 3     N InferCells at 4C, H/4
 *   head        BN → ReLU → global average pool → Linear(4C, K)     `lastact.bn`, `classifier`
 *
 * InferCell: node 0 = cell input, node j = Σ_{i<j} op_ij(node i), added in
 * increasing i as Add(Add(a, b), c); the cell output is node 3.
 * `nor_conv_k×k` = ReLU → Conv k×k pad (k−1)/2 (no bias) → BN (affine), each
 * op with its own ReLU node (as AutoDL has one ReLU module per op; the ONNX
 * exporter merges ReLUs of one tensor, hnas does not, so NASWOT's per-module
 * count is the number of `relu` nodes); `avg_pool_3x3` = AvgPool 3×3 s1 p1
 * excluding padding; `skip_connect` = the tensor itself (no node); `none` =
 * the edge is left out (AutoDL adds x·0, identical for finite x).
 *
 * Two corner cases of `none` (fixture README §3.3):
 * - Zero node: a node whose incoming edges are all `none` is the zero tensor
 *   (`zeros_like` of the cell input); the ops reading it are built and run as
 *   in AutoDL (a conv op outputs its BN β), and their parameters count.
 * - Dead node: node 1 or 2 when no path leads from it to node 3. AutoDL
 *   builds and runs the ops computing it, so they hold parameters counted in
 *   NB201's reported sizes (and their ReLUs are seen by NASWOT's hooks), but
 *   they cannot influence the logits and get zero gradient. The default
 *   `deadOps: 'keep'` does what AutoDL does (parameter count = NB201's);
 *   `deadOps: 'prune'` removes every node that does not reach the logits and
 *   the parameters only they use, which is what the ONNX exporter did to the
 *   fixture models. The kept parameters have the same values either way.
 *
 * Parameters are initialised by GraphBuilder (PyTorch's default
 * distributions, seeded; not PyTorch's random stream).
 */
import type { GraphSpec, NodeSpec } from '../../engine/graphSpec.js';
import { InvalidArgumentError } from '../../errors.js';
import { GraphBuilder } from '../graphBuilder.js';
import { INIT_SCHEMES, type InitScheme } from '../init.js';
import { Rng } from '../rng.js';
import { NB201_EDGES, toNb201Cell, type Nb201Cell } from './archString.js';

export interface Nb201NetworkOptions {
  /** C: channels of the first stage (then 2C, 4C). Default 16. */
  channels?: number;
  /** N: InferCells per stage. Default 5. */
  cellsPerStage?: number;
  /** Default 10 (CIFAR-10); 100 for CIFAR-100, 120 for ImageNet16-120. */
  numClasses?: number;
  /** Input height = width, a multiple of 4. Default 32; 16 for ImageNet16-120. */
  inputSize?: number;
  /** Seed of the parameter initialisation. Default 0. */
  seed?: number;
  /** Default `pytorch`. */
  init?: InitScheme;
  /** Ops that cannot reach the logits: built as in AutoDL (`keep`, default) or removed (`prune`). */
  deadOps?: 'keep' | 'prune';
}

interface Resolved {
  channels: number;
  cellsPerStage: number;
  numClasses: number;
  inputSize: number;
  seed: number;
  init: InitScheme;
  deadOps: 'keep' | 'prune';
}

function checkInt(name: string, v: number, min: number): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new InvalidArgumentError(`NB201 network: ${name} must be an integer >= ${min}, got ${String(v)}`);
  }
}

function resolve(options: Nb201NetworkOptions): Resolved {
  const r: Resolved = {
    channels: options.channels ?? 16,
    cellsPerStage: options.cellsPerStage ?? 5,
    numClasses: options.numClasses ?? 10,
    inputSize: options.inputSize ?? 32,
    seed: options.seed ?? 0,
    init: options.init ?? 'pytorch',
    deadOps: options.deadOps ?? 'keep',
  };
  checkInt('channels', r.channels, 1);
  checkInt('cellsPerStage', r.cellsPerStage, 0);
  checkInt('numClasses', r.numClasses, 1);
  checkInt('inputSize', r.inputSize, 4);
  if (r.inputSize % 4 !== 0) {
    throw new InvalidArgumentError(`NB201 network: inputSize must be a multiple of 4 (two stride-2 reductions), got ${r.inputSize}`);
  }
  checkInt('seed', r.seed, 0);
  if (!INIT_SCHEMES.includes(r.init)) {
    throw new InvalidArgumentError(`NB201 network: unknown init scheme "${String(r.init)}"`);
  }
  if (r.deadOps !== 'keep' && r.deadOps !== 'prune') {
    throw new InvalidArgumentError(`NB201 network: deadOps must be "keep" or "prune", got "${String(r.deadOps)}"`);
  }
  return r;
}

/**
 * Indices (into NB201_EDGES) of the non-`none` edges whose output cannot
 * reach node 3: the ops computing a dead node. E.g. 4948
 * `|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|` → [2] (edge 1→2).
 */
export function nb201DeadEdges(arch: string | Nb201Cell): number[] {
  const cell = toNb201Cell(arch);
  const live = [false, false, false, true];
  for (let j = 2; j >= 0; j--) {
    live[j] = NB201_EDGES.some(([from, to], e) => from === j && live[to] && cell[e] !== 'none');
  }
  const dead: number[] = [];
  NB201_EDGES.forEach(([, to], e) => {
    if (cell[e] !== 'none' && !live[to]) dead.push(e);
  });
  return dead;
}

/** Scope of edge e of cell k, e.g. `cells.3.edge1to2`. */
export function nb201EdgeScope(cellIndex: number, edge: number): string {
  const [i, j] = NB201_EDGES[edge];
  return `cells.${cellIndex}.edge${i}to${j}`;
}

/**
 * Trainable parameters (conv weights, BN γ/β, classifier weight and bias;
 * no running statistics) and conv + linear multiply-accumulates per sample
 * (NB201's "FLOPs") of the network buildNb201Network would build, without
 * building it. 13714 at the defaults: 1,073,466 and 153,272,960.
 */
export function nb201Cost(arch: string | Nb201Cell, options: Nb201NetworkOptions = {}): { params: number; macs: number } {
  const cell = toNb201Cell(arch);
  const o = resolve(options);
  const dead = new Set(o.deadOps === 'prune' ? nb201DeadEdges(cell) : []);
  const C = o.channels;
  let h = o.inputSize;
  let params = C * 3 * 9 + 2 * C;
  let macs = C * 3 * 9 * h * h;
  let c = C;
  for (let stage = 0; stage < 3; stage++) {
    if (stage > 0) {
      const cin = c;
      c *= 2;
      h /= 2;
      params += c * cin * 9 + 2 * c + c * c * 9 + 2 * c + c * cin;
      macs += (c * cin * 9 + c * c * 9 + c * cin) * h * h;
    }
    for (let e = 0; e < cell.length; e++) {
      const k = cell[e] === 'nor_conv_3x3' ? 3 : cell[e] === 'nor_conv_1x1' ? 1 : 0;
      if (k === 0 || dead.has(e)) continue;
      params += o.cellsPerStage * (c * c * k * k + 2 * c);
      macs += o.cellsPerStage * c * c * k * k * h * h;
    }
  }
  params += 2 * c + c * o.numClasses + o.numClasses;
  macs += c * o.numClasses;
  return { params, macs };
}

/** One InferCell; returns node 3. */
function inferCell(b: GraphBuilder, k: number, x: string, cell: Nb201Cell): string {
  const c = b.shape(x)[0];
  const nodes: string[] = [x];
  for (let j = 1; j <= 3; j++) {
    const terms: string[] = [];
    NB201_EDGES.forEach(([i, to], e) => {
      if (to !== j || cell[e] === 'none') return;
      const scope = nb201EdgeScope(k, e);
      const src = nodes[i];
      switch (cell[e]) {
        case 'skip_connect':
          terms.push(src);
          break;
        case 'avg_pool_3x3':
          terms.push(b.avgPool(`${scope}.pool`, src, 3, 1, 1, false));
          break;
        case 'nor_conv_1x1':
        case 'nor_conv_3x3': {
          const ks = cell[e] === 'nor_conv_3x3' ? 3 : 1;
          const r = b.relu(`${scope}.relu`, src);
          const y = b.conv(`${scope}.conv`, r, c, ks, { pad: (ks - 1) / 2 });
          terms.push(b.batchNorm(`${scope}.bn`, y));
          break;
        }
      }
    });
    nodes.push(terms.length === 0 ? b.zerosLike(`cells.${k}.node${j}`, x) : b.sum(`cells.${k}.node${j}`, terms));
  }
  return nodes[3];
}

/** ResNetBasicblock with stride 2: shortcut(x) + conv_b(conv_a(x)), no ReLU after. */
function reductionCell(b: GraphBuilder, k: number, x: string, cout: number): string {
  const s = `cells.${k}`;
  const a = b.batchNorm(`${s}.conv_a.bn`, b.conv(`${s}.conv_a.conv`, b.relu(`${s}.conv_a.relu`, x), cout, 3, { stride: 2, pad: 1 }));
  const bb = b.batchNorm(`${s}.conv_b.bn`, b.conv(`${s}.conv_b.conv`, b.relu(`${s}.conv_b.relu`, a), cout, 3, { pad: 1 }));
  const sc = b.conv(`${s}.shortcut.conv`, b.avgPool(`${s}.shortcut.pool`, x, 2, 2, 0, false), cout, 1);
  return b.add(`${s}.add`, sc, bb);
}

/** Parameter names a node reads. */
function paramsOf(n: NodeSpec): string[] {
  switch (n.op) {
    case 'conv2d':
    case 'linear':
      return n.bias ? [n.weight, n.bias] : [n.weight];
    case 'batch_norm':
      return [n.weight, n.bias, n.runningMean, n.runningVar].filter((p): p is string => p !== undefined);
    default:
      return [];
  }
}

/** Removes every node whose output does not reach the graph output, and the parameters only those used. */
function pruneDead(spec: GraphSpec): GraphSpec {
  const needed = new Set([spec.output.name]);
  const keep: NodeSpec[] = [];
  for (let i = spec.nodes.length - 1; i >= 0; i--) {
    const n = spec.nodes[i];
    if (!n.outputs.some((t) => needed.has(t))) continue;
    keep.push(n);
    for (const t of n.inputs) needed.add(t);
  }
  keep.reverse();
  const used = new Set(keep.flatMap(paramsOf));
  return { ...spec, params: spec.params.filter((p) => used.has(p.name)), nodes: keep };
}

/**
 * NB201's TinyNetwork for a cell (6 ops in edge order
 * (0→1) | (0→2)(1→2) | (0→3)(1→3)(2→3), or its arch string), as a GraphSpec
 * with per-sample input [3, inputSize, inputSize] (`input`) and logits
 * [numClasses]. Throws ArchitectureError for a bad cell, InvalidArgumentError
 * for a bad option.
 */
export function buildNb201Network(arch: string | Nb201Cell, options: Nb201NetworkOptions = {}): GraphSpec {
  const cell = toNb201Cell(arch);
  const o = resolve(options);
  const C = o.channels;
  const b = new GraphBuilder([3, o.inputSize, o.inputSize], new Rng(o.seed), o.init);
  let x = b.batchNorm('stem.bn', b.conv('stem.conv', b.inputName, C, 3, { pad: 1 }));
  let k = 0;
  for (let stage = 0; stage < 3; stage++) {
    if (stage > 0) x = reductionCell(b, k++, x, C << stage);
    for (let n = 0; n < o.cellsPerStage; n++) x = inferCell(b, k++, x, cell);
  }
  const feat = b.globalAvgPool('lastact.gap', b.relu('lastact.relu', b.batchNorm('lastact.bn', x)));
  const spec = b.build(b.linear('classifier', feat, o.numClasses));
  return o.deadOps === 'prune' ? pruneDead(spec) : spec;
}
