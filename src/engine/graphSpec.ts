/**
 * The network description handed to the native engine: an ordered list of
 * ops over named tensors, with named parameters. ONNX import
 * (src/onnx/importOnnx.ts) and the search-space builders produce it; the
 * native engine (native/engine/graph.cpp) validates it again.
 *
 * Layout conventions: every tensor is NCHW (rank 4) or NF (rank 2) with the
 * batch as dimension 0. Shapes below omit the batch dimension.
 */

/** What a parameter is for; drives parameter selection in gradient requests. */
export type ParamKind =
  | 'conv_weight'
  | 'conv_bias'
  | 'linear_weight'
  | 'linear_bias'
  | 'bn_weight'
  | 'bn_bias'
  | 'bn_running_mean'
  | 'bn_running_var';

export interface ParamSpec {
  /** ONNX initializer name, e.g. `cells.0.edge0to1.conv.weight`. */
  name: string;
  kind: ParamKind;
  /** Full shape, e.g. [Cout, Cin/groups, kh, kw] for a conv weight. */
  shape: number[];
  /** Row-major values; length = product of shape. */
  data: Float32Array | Float64Array;
}

interface NodeBase {
  /** Unique node name (ONNX node name, or generated). Used in error messages. */
  name: string;
  inputs: string[];
  outputs: string[];
}

/** [top, left, bottom, right], as ONNX `pads` [h_begin, w_begin, h_end, w_end]. */
export type Pads4 = [number, number, number, number];

export interface Conv2dNode extends NodeBase {
  op: 'conv2d';
  weight: string;
  bias?: string;
  stride: [number, number];
  pads: Pads4;
  dilation: [number, number];
  groups: number;
}

export interface BatchNormNode extends NodeBase {
  op: 'batch_norm';
  /** γ and β; absent for a non-affine BN. */
  weight?: string;
  bias?: string;
  runningMean: string;
  runningVar: string;
  eps: number;
  /** PyTorch convention: running = (1 - momentum) * running + momentum * batch. */
  momentum: number;
}

export interface ReluNode extends NodeBase {
  op: 'relu';
}

export interface AvgPool2dNode extends NodeBase {
  op: 'avg_pool2d';
  kernel: [number, number];
  stride: [number, number];
  pads: Pads4;
  countIncludePad: boolean;
}

export interface MaxPool2dNode extends NodeBase {
  op: 'max_pool2d';
  kernel: [number, number];
  stride: [number, number];
  pads: Pads4;
  dilation: [number, number];
}

export interface GlobalAvgPoolNode extends NodeBase {
  op: 'global_avg_pool';
}

/** y = x · Wᵀ + b with W [out, in] (ONNX Gemm with transB = 1). */
export interface LinearNode extends NodeBase {
  op: 'linear';
  weight: string;
  bias?: string;
}

export interface AddNode extends NodeBase {
  op: 'add';
}

export interface ConcatNode extends NodeBase {
  op: 'concat';
  /** Only the channel axis (1) is supported. */
  axis: 1;
}

/** Spatial slice: H and W ranges with steps (batch and channels untouched). */
export interface SliceNode extends NodeBase {
  op: 'slice';
  /** [hStart, wStart], [hEnd, wEnd] (exclusive, already clamped), [hStep, wStep]. */
  starts: [number, number];
  ends: [number, number];
  steps: [number, number];
}

export interface MulConstNode extends NodeBase {
  op: 'mul_const';
  value: number;
}

/** [N, C, H, W] -> [N, C·H·W]. */
export interface FlattenNode extends NodeBase {
  op: 'flatten';
}

/** A zero tensor with the shape of its input (ONNX Shape -> ConstantOfShape(0)). */
export interface ZerosLikeNode extends NodeBase {
  op: 'zeros_like';
}

export interface IdentityNode extends NodeBase {
  op: 'identity';
}

export type NodeSpec =
  | Conv2dNode
  | BatchNormNode
  | ReluNode
  | AvgPool2dNode
  | MaxPool2dNode
  | GlobalAvgPoolNode
  | LinearNode
  | AddNode
  | ConcatNode
  | SliceNode
  | MulConstNode
  | FlattenNode
  | ZerosLikeNode
  | IdentityNode;

export type OpName = NodeSpec['op'];

export interface GraphSpec {
  /** The single graph input, e.g. `input`, with its per-sample shape [C, H, W]. */
  input: { name: string; shape: number[] };
  /** The graph output (logits), per-sample shape [K]. */
  output: { name: string; shape: number[] };
  params: ParamSpec[];
  /** Topologically ordered. */
  nodes: NodeSpec[];
}
