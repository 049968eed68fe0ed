/**
 * Runs the CLI in-process with console output captured: registers
 * beforeEach/afterEach hooks that clear the captured lines and reset
 * process.exitCode, so each test sees only its own output.
 */
import { afterEach, beforeEach, vi } from 'vitest';

export function captureConsole(): { logs: string[]; errors: string[] } {
  const logs: string[] = [];
  const errors: string[] = [];
  beforeEach(() => {
    logs.length = 0;
    errors.length = 0;
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
    process.exitCode = undefined;
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  return { logs, errors };
}
