/** `hnas export <arch> --space nb201|darts --out model.onnx`: a search-space network as an ONNX model. */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { FileNotFoundError } from '../../errors.js';
import { writeOnnxFile } from '../../onnx/exportOnnx.js';
import { DATASETS, SPACES, buildArchitecture, type DatasetName, type SpaceName } from '../../spaces/architecture.js';
import { INIT_SCHEMES, type InitScheme } from '../../spaces/init.js';
import { choiceOption, intOption } from '../options.js';

interface ExportOptions {
  space: SpaceName;
  out: string;
  channels?: number;
  cells?: number;
  dataset: DatasetName;
  classes?: number;
  inputSize?: number;
  seed: number;
  init: InitScheme;
}

export function exportCommand(): Command {
  return new Command('export')
    .description('write the network of an architecture as an ONNX model (opset 13, dynamic batch)')
    .argument('<arch>', 'NB201: architecture string or benchmark index; DARTS: Genotype(...) text, or @file holding it')
    .requiredOption('-o, --out <file>', 'ONNX file to write (atomically)')
    .option('-s, --space <space>', `search space: ${SPACES.join(' | ')}`, choiceOption('--space', SPACES), 'nb201')
    .option('--channels <C>', 'initial channels (NB201 default 16; DARTS default 36)', intOption('--channels', 1))
    .option('--cells <N>', 'NB201: cells per stage (default 5); DARTS: total cells (default 20)', intOption('--cells', 1))
    .option('--dataset <name>', `preset for classes and input size: ${Object.keys(DATASETS).join(' | ')}`, choiceOption('--dataset', Object.keys(DATASETS) as DatasetName[]), 'cifar10')
    .option('--classes <K>', 'number of classes (overrides --dataset)', intOption('--classes', 1))
    .option('--input-size <S>', 'input height = width (overrides --dataset)', intOption('--input-size', 4))
    .option('--seed <n>', 'initialisation seed', intOption('--seed', 0), 0)
    .option('--init <scheme>', `initialisation: ${INIT_SCHEMES.join(' | ')}`, choiceOption('--init', INIT_SCHEMES), 'pytorch')
    .action(async (arch: string, o: ExportOptions) => {
      let text = arch;
      if (arch.startsWith('@')) {
        const path = arch.slice(1);
        text = await readFile(path, 'utf8').catch((cause) => {
          throw new FileNotFoundError(path, { cause });
        });
      }
      const spec = buildArchitecture(o.space, text, {
        channels: o.channels,
        cells: o.cells,
        dataset: o.dataset,
        numClasses: o.classes,
        inputSize: o.inputSize,
        seed: o.seed,
        init: o.init,
      });
      await writeOnnxFile(spec, o.out, { docString: `hnas export --space ${o.space} ${text.trim()}` });
      const params = spec.params
        .filter((p) => p.kind !== 'bn_running_mean' && p.kind !== 'bn_running_var')
        .reduce((s, p) => s + p.data.length, 0);
      console.log(`wrote ${o.out}: ${o.space} network, ${spec.nodes.length} ops, ${params.toLocaleString('en-US')} parameters, input [N, ${spec.input.shape.join(', ')}]`);
    });
}
