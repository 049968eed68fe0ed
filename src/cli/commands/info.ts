/** `hnas info`: what the native engine was built with and what it found here. */
import { cpus, totalmem } from 'node:os';
import { Command } from 'commander';
import { buildInfo, formatCudaVersion } from '../../native/buildInfo.js';
import { cudaAvailability, cudaDevices, cudaUnavailableReason, resolveDevice, type CudaDeviceInfo } from '../../native/device.js';

const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 10) / 10;

export function infoCommand(): Command {
  return new Command('info')
    .description('show the native build (GEMM kernel, CPU features, threads, CUDA) and this machine (CPU, memory, CUDA devices)')
    .option('--json', 'print JSON instead of text')
    .action((options: { json?: boolean }) => {
      const build = buildInfo();
      const cuda = cudaAvailability();
      const devices: CudaDeviceInfo[] = cuda.compiled ? cudaDevices() : [];
      const unavailable = cudaUnavailableReason(cuda);
      const info = {
        ...build,
        cuda: {
          status: cuda.status,
          unavailableReason: unavailable ?? null,
          message: cuda.message,
          driverVersion: formatCudaVersion(cuda.driverVersion) ?? null,
          devices,
        },
        // What `auto` resolves to here (HNAS_DEVICE is honoured; an invalid value is reported, not thrown).
        device: (() => {
          try {
            return resolveDevice();
          } catch (error) {
            return `error: ${(error as Error).message}`;
          }
        })(),
        cpuModel: cpus()[0]?.model ?? 'unknown',
        logicalCpus: cpus().length,
        memoryGiB: gib(totalmem()),
        node: process.version,
      };
      if (options.json) {
        console.log(JSON.stringify(info, null, 2));
        return;
      }
      console.log(`hnas native engine`);
      console.log(`  GEMM kernel   ${info.gemmKernel}`);
      console.log(`  CPU features  ${info.cpuFeatures}`);
      console.log(`  threads       ${info.threads} (HNAS_NUM_THREADS to change)`);
      if (build.cudaCompiled) {
        console.log(
          `  CUDA          compiled in: runtime ${build.cudaRuntimeVersion ?? '?'} (static), nvcc ${build.cudaCompilerVersion ?? '?'}, ` +
            `architectures ${build.cudaArchitectures.join(', ')}`,
        );
      } else if (build.cudaEmulated) {
        console.log(`  CUDA          not compiled in; kernels built for the host emulator (HNAS_CUDA=EMULATE, tests only)`);
      } else {
        console.log(`  CUDA          not compiled in (CPU build: HNAS_CUDA=OFF or no nvcc)`);
      }
      console.log(`machine`);
      console.log(`  CPU           ${info.cpuModel} × ${info.logicalCpus}`);
      console.log(`  memory        ${info.memoryGiB} GiB`);
      console.log(`  Node          ${info.node}`);
      if (build.cudaCompiled) {
        if (devices.length === 0) {
          const why = unavailable === 'no-driver' ? 'no CUDA driver' : unavailable === 'driver-error' ? 'CUDA driver error' : 'no CUDA device';
          console.log(`  CUDA devices  none — ${why}${cuda.message ? ` (${cuda.message})` : ''}`);
        } else {
          console.log(`  CUDA driver   ${info.cuda.driverVersion ?? '?'}`);
          for (const d of devices) {
            console.log(
              `  CUDA device ${d.index} ${d.name}, compute ${d.computeCapability}, ${d.multiprocessors} SMs, ` +
                `${gib(d.totalMemoryBytes)} GiB (${gib(d.freeMemoryBytes)} GiB free)`,
            );
          }
        }
      }
      console.log(`  device        ${info.device} (auto: CUDA when compiled in and a device is present; HNAS_DEVICE to choose)`);
      console.log(`                the engine's gradients and Θ still run on the CPU (docs/cuda.md)`);
    });
}
