/**
 * Typed errors. Every failure hnas reports carries a stable `code`
 * (`ERR_HNAS_…`) that callers can switch on; the message names the thing at
 * fault (file, node, architecture, tensor) and the reason.
 */

export type HnasErrorCode =
  | 'ERR_HNAS_INVALID_ARGUMENT'
  | 'ERR_HNAS_UNSUPPORTED'
  | 'ERR_HNAS_NON_FINITE'
  | 'ERR_HNAS_OUT_OF_MEMORY'
  | 'ERR_HNAS_INTERNAL'
  | 'ERR_HNAS_ONNX_INVALID'
  | 'ERR_HNAS_ONNX_UNSUPPORTED'
  | 'ERR_HNAS_SHAPE_MISMATCH'
  | 'ERR_HNAS_DISPOSED'
  | 'ERR_HNAS_NATIVE_UNAVAILABLE'
  | 'ERR_HNAS_DEVICE_UNAVAILABLE'
  | 'ERR_HNAS_FILE_NOT_FOUND'
  | 'ERR_HNAS_INVALID_ARCHITECTURE'
  | 'ERR_HNAS_DATA_FORMAT'
  | 'ERR_HNAS_EVALUATION_FAILED'
  | 'ERR_HNAS_ABORTED';

export class HnasError extends Error {
  readonly code: HnasErrorCode;
  constructor(code: HnasErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HnasError';
    this.code = code;
  }
}

/** A caller passed a bad value (option out of range, wrong type of array, …). */
export class InvalidArgumentError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_INVALID_ARGUMENT', message, options);
    this.name = 'InvalidArgumentError';
  }
}

/** A well-formed request the engine does not serve (an op, a mode, a dtype). */
export class UnsupportedError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_UNSUPPORTED', message, options);
    this.name = 'UnsupportedError';
  }
}

/** NaN or Inf in an input, a parameter or a result. */
export class NonFiniteError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_NON_FINITE', message, options);
    this.name = 'NonFiniteError';
  }
}

/** An input tensor whose shape does not fit the network. */
export class ShapeMismatchError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_SHAPE_MISMATCH', message, options);
    this.name = 'ShapeMismatchError';
  }
}

/** The ONNX bytes cannot be decoded or do not describe a valid graph. */
export class OnnxFormatError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_ONNX_INVALID', message, options);
    this.name = 'OnnxFormatError';
  }
}

/** A valid ONNX model using an op, attribute value, dtype or dynamic shape the engine lacks. */
export class OnnxUnsupportedError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_ONNX_UNSUPPORTED', message, options);
    this.name = 'OnnxUnsupportedError';
  }
}

/** A native object was used after dispose(). */
export class DisposedError extends HnasError {
  constructor(what: string) {
    super('ERR_HNAS_DISPOSED', `${what} has been disposed`);
    this.name = 'DisposedError';
  }
}

/** The native addon could not be loaded (not built, or built for another Node). */
export class NativeUnavailableError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_NATIVE_UNAVAILABLE', message, options);
    this.name = 'NativeUnavailableError';
  }
}

/** Why a requested device cannot serve work (see src/native/device.ts). */
export type DeviceUnavailableReason = 'not-compiled' | 'no-driver' | 'no-device' | 'driver-error';

/**
 * An explicit request for a device (`cuda`) that this build or machine cannot
 * serve: CUDA not compiled in, no driver, no device, or a driver error.
 * hnas never falls back to the CPU silently.
 */
export class DeviceUnavailableError extends HnasError {
  readonly reason: DeviceUnavailableReason;
  constructor(reason: DeviceUnavailableReason, message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_DEVICE_UNAVAILABLE', message, options);
    this.name = 'DeviceUnavailableError';
    this.reason = reason;
  }
}

/** The native engine ran out of memory for a request. */
export class OutOfMemoryError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_OUT_OF_MEMORY', message, options);
    this.name = 'OutOfMemoryError';
  }
}

/** A broken invariant inside hnas: a bug to report. */
export class InternalError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_INTERNAL', message, options);
    this.name = 'InternalError';
  }
}

/** A file the caller named does not exist or cannot be read. */
export class FileNotFoundError extends HnasError {
  constructor(path: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_FILE_NOT_FOUND', `file not found or unreadable: ${path}`, options);
    this.name = 'FileNotFoundError';
  }
}

/** A malformed architecture: string, index, genotype, or an unknown op. */
export class ArchitectureError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_INVALID_ARCHITECTURE', message, options);
    this.name = 'ArchitectureError';
  }
}

/** A data file whose size or content does not fit its format (e.g. CIFAR binary records). */
export class DataFormatError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_DATA_FORMAT', message, options);
    this.name = 'DataFormatError';
  }
}

/**
 * Why an evaluation (training a candidate, running the user's command) gave
 * no usable result:
 *  - `spawn`: the command could not be started (not found, not executable);
 *  - `exit`: it exited with a non-zero code;
 *  - `signal`: it was killed by a signal it was not sent by hnas;
 *  - `timeout`: it ran past its time limit and hnas killed it;
 *  - `malformed`: it ran, but its result is not a valid evaluation (no JSON,
 *    a missing or non-finite accuracy, an accuracy outside 0..100, …).
 */
export type EvaluationFailureReason = 'spawn' | 'exit' | 'signal' | 'timeout' | 'malformed';

export interface EvaluationErrorDetails {
  /** Exit code of the command, when it exited. */
  exitCode?: number | null;
  /** Signal that ended the command, when one did. */
  signal?: string | null;
  /** Seconds spent before the failure (wall clock), when known; a search adds it to its cost. */
  cost?: number;
  cause?: unknown;
}

/** An evaluation failed; `reason` says how (see EvaluationFailureReason). */
export class EvaluationError extends HnasError {
  readonly reason: EvaluationFailureReason;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly cost: number | undefined;
  constructor(reason: EvaluationFailureReason, message: string, details: EvaluationErrorDetails = {}) {
    super('ERR_HNAS_EVALUATION_FAILED', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'EvaluationError';
    this.reason = reason;
    this.exitCode = details.exitCode ?? null;
    this.signal = details.signal ?? null;
    this.cost = details.cost;
  }
}

/** Work stopped because the caller's AbortSignal fired; `cause` is the signal's reason. */
export class AbortedError extends HnasError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_HNAS_ABORTED', message, options);
    this.name = 'AbortedError';
  }
}
