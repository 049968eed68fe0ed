/**
 * One entry point over the search spaces: an architecture given as text
 * (an NB201 string or benchmark index, a DARTS genotype) becomes a network
 * GraphSpec, ready for the native engine, ONNX export or onnxruntime.
 */
import type { GraphSpec } from '../engine/graphSpec.js';
import { ArchitectureError, InvalidArgumentError } from '../errors.js';
import { parseGenotype } from './darts/genotype.js';
import { buildDartsNetwork } from './darts/network.js';
import type { InitScheme } from './init.js';
import { parseNb201 } from './nb201/archString.js';
import { loadNb201Table } from './nb201/benchmarkTable.js';
import { buildNb201Network } from './nb201/network.js';

export type SpaceName = 'nb201' | 'darts';
export const SPACES: readonly SpaceName[] = ['nb201', 'darts'];

/** Dataset presets: classes and input size (ImageNet16-120 is 16×16 with 120 classes). */
export type DatasetName = 'cifar10' | 'cifar100' | 'imagenet16-120';
export const DATASETS: Readonly<Record<DatasetName, { numClasses: number; inputSize: number }>> = {
  cifar10: { numClasses: 10, inputSize: 32 },
  cifar100: { numClasses: 100, inputSize: 32 },
  'imagenet16-120': { numClasses: 120, inputSize: 16 },
};

export interface ArchitectureOptions {
  /** Initial channels C. Default: NB201 16; DARTS 36 (evaluation size; the search proxy is 16). */
  channels?: number;
  /** NB201: cells per stage N (default 5). DARTS: total cells (default 20; proxy 5). */
  cells?: number;
  /** Dataset preset (classes, input size); default cifar10. */
  dataset?: DatasetName;
  /** Overrides of the preset. */
  numClasses?: number;
  inputSize?: number;
  /** Initialisation seed (default 0) and scheme (default pytorch). */
  seed?: number;
  init?: InitScheme;
  /** DARTS only: build the training-only auxiliary head (output [main | auxiliary] logits). Default false. */
  auxiliary?: boolean;
}

export function checkSpace(space: string): SpaceName {
  if (!SPACES.includes(space as SpaceName)) {
    throw new InvalidArgumentError(`unknown search space "${space}" (expected ${SPACES.join(' or ')})`);
  }
  return space as SpaceName;
}

/**
 * NB201 accepts the architecture string or the official benchmark index
 * (0–15624); DARTS the `Genotype(normal=[...], ...)` text.
 */
export function buildArchitecture(space: SpaceName, arch: string, options: ArchitectureOptions = {}): GraphSpec {
  const preset = DATASETS[options.dataset ?? 'cifar10'];
  if (!preset) throw new InvalidArgumentError(`unknown dataset "${options.dataset}" (expected ${Object.keys(DATASETS).join(', ')})`);
  const numClasses = options.numClasses ?? preset.numClasses;
  const inputSize = options.inputSize ?? preset.inputSize;
  switch (checkSpace(space)) {
    case 'nb201': {
      if (options.auxiliary) throw new InvalidArgumentError('an auxiliary head exists for DARTS networks only, not nb201');
      const text = arch.trim();
      const cell = /^\d+$/.test(text) ? parseNb201(loadNb201Table().archAt(Number(text))) : parseNb201(text);
      return buildNb201Network(cell, {
        channels: options.channels,
        cellsPerStage: options.cells,
        numClasses,
        inputSize,
        seed: options.seed,
        init: options.init,
      });
    }
    case 'darts':
      if (!arch.includes('Genotype')) {
        throw new ArchitectureError(`a DARTS architecture is a Genotype(normal=[...], ...) text, got "${arch.slice(0, 60)}"`);
      }
      return buildDartsNetwork(parseGenotype(arch), {
        channels: options.channels,
        layers: options.cells,
        numClasses,
        inputSize,
        seed: options.seed,
        init: options.init,
        auxiliary: options.auxiliary,
      });
  }
}
