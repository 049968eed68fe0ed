import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/** The CUDA parity suites: they run on a device where there is one, and on the host emulator always. */
const CUDA_PARITY = ['test/native/cudaParity.test.ts', 'test/native/cudaEngineParity.test.ts'];

export default defineConfig({
  test: {
    // Native work is multi-threaded already; two forks keep the 2-core CI busy
    // without oversubscribing it.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      // Every test against the addon `npm install` built (build/).
      { extends: true as const, test: { name: 'hnas', include: ['test/**/*.test.ts'] } },
      // The CUDA kernels and the device engine on the host emulator
      // (build-emulated/, built by the global setup): how machines without a
      // GPU — CI — test them against the CPU. HNAS_TEST_EMULATED=0 leaves it out.
      ...(process.env.HNAS_TEST_EMULATED === '0'
        ? []
        : [
            {
              extends: true as const,
              test: {
                name: 'cuda-emulated',
                include: CUDA_PARITY,
                globalSetup: ['test/setup/emulatedAddon.ts'],
                env: { HNAS_ADDON_PATH: join(import.meta.dirname, 'build-emulated', 'Release', 'hnas.node') },
              },
            },
          ]),
    ],
  },
});
