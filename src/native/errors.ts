/**
 * Turns errors thrown by the addon (plain Errors with a `code` string, or
 * TypeError/RangeError from argument checks) into hnas' typed errors.
 */
import {
  DisposedError,
  HnasError,
  InternalError,
  InvalidArgumentError,
  NonFiniteError,
  OutOfMemoryError,
  UnsupportedError,
} from '../errors.js';

export function fromNative(error: unknown, context: string): Error {
  if (error instanceof HnasError) return error;
  if (!(error instanceof Error)) return new InternalError(`${context}: ${String(error)}`);
  const code = (error as { code?: unknown }).code;
  const message = `${context}: ${error.message}`;
  switch (code) {
    case 'ERR_HNAS_INVALID_ARGUMENT':
      return new InvalidArgumentError(message, { cause: error });
    case 'ERR_HNAS_UNSUPPORTED':
      return new UnsupportedError(message, { cause: error });
    case 'ERR_HNAS_NON_FINITE':
      return new NonFiniteError(message, { cause: error });
    case 'ERR_HNAS_OUT_OF_MEMORY':
      return new OutOfMemoryError(message, { cause: error });
    case 'ERR_HNAS_DISPOSED':
      return new DisposedError(context);
    case 'ERR_HNAS_INTERNAL':
      return new InternalError(message, { cause: error });
    default:
      // Argument checks in the addon: TypeError / RangeError.
      if (error instanceof TypeError || error instanceof RangeError) {
        return new InvalidArgumentError(message, { cause: error });
      }
      return new InternalError(message, { cause: error });
  }
}
