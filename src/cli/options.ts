/** Option parsers shared by the CLI commands: each names the option in its error. */
import { InvalidArgumentError } from '../errors.js';

export function intOption(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${value}"`);
    }
    return n;
  };
}

export function choiceOption<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!choices.includes(value as T)) {
      throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')}, got "${value}"`);
    }
    return value as T;
  };
}

/** `--device auto|cpu|cuda` (default: HNAS_DEVICE, else auto); commands pass it to engineDevice(). */
export const DEVICE_OPTION_HELP = 'auto | cpu | cuda (default: HNAS_DEVICE, else auto: CUDA when a device is present); an explicit cuda that cannot be honoured is an error; grasp needs cpu';
