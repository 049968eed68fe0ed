/** `hnas info`: what the native engine was built with and what it found here. */
import { cpus, totalmem } from 'node:os';
import { Command } from 'commander';
import { buildInfo } from '../../native/buildInfo.js';

export function infoCommand(): Command {
  return new Command('info')
    .description('show the native build (GEMM kernel, CPU features, threads, CUDA) and this machine')
    .option('--json', 'print JSON instead of text')
    .action((options: { json?: boolean }) => {
      const info = {
        ...buildInfo(),
        cpuModel: cpus()[0]?.model ?? 'unknown',
        logicalCpus: cpus().length,
        memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
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
      console.log(`  CUDA          ${info.cudaCompiled ? 'compiled in' : 'not compiled in (CPU build)'}`);
      console.log(`machine`);
      console.log(`  CPU           ${info.cpuModel} × ${info.logicalCpus}`);
      console.log(`  memory        ${info.memoryGiB} GiB`);
      console.log(`  Node          ${info.node}`);
    });
}
