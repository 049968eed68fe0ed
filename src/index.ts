/**
 * hnas — training-free and hybrid neural architecture search over a native
 * gradient engine. Library entry point.
 */
export {
  Network,
  PARAM_KIND_CODES,
  type BatchOptions,
  type BnMode,
  type DType,
  type FloatArray,
  type GradientResult,
  type HvpResult,
  type JacobianMode,
  type JacobianResult,
  type OutputName,
  type ParamInfo,
  type ParamSelection,
} from './engine/network.js';
export type * from './engine/graphSpec.js';
export { importOnnx, readOnnxFile } from './onnx/importOnnx.js';
export { buildInfo, setNumThreads, type BuildInfo } from './native/buildInfo.js';
export * from './errors.js';
