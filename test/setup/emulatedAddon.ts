/**
 * Global setup of the `cuda-emulated` test project (vitest.config.ts): builds
 * the HNAS_CUDA=EMULATE addon into build-emulated/ (incremental: about a
 * minute on two cores the first time, a second when nothing changed), so the
 * CUDA op and engine parity suites run their device kernels on the host
 * emulator on every machine, CI included. A failed build fails the run.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-addon.mjs'), '--emulated'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`building the emulated CUDA addon failed (exit ${r.status}); see the output above`);
}
