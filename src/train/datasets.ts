/**
 * Where training data comes from: a folder of official CIFAR binary files
 * (training files and test file), or the bundled 1,000-image CIFAR-10 sample
 * (data/cifar10/, 100 test images per class), which has no separate test
 * file and is split by the caller.
 */
import { CIFAR100_STATS, CIFAR10_STATS, cifarDirectory, readCifarBinary, type CifarDataset, type CifarSet, type NormaliseStats } from '../io/cifar.js';
import { DEFAULT_CIFAR10_FILE, loadDefaultCifar10 } from '../io/defaultData.js';

export interface CifarData {
  /** The training images (the bundled sample's 1,000 images when no folder is given). */
  train: CifarSet;
  /** The official test set, or null for the bundled sample. */
  test: CifarSet | null;
  dataset: CifarDataset;
  stats: NormaliseStats;
  /** For reports: the folder, or the bundled file's name. */
  source: string;
}

/** Reads `dir`'s official files (see cifarDirectory), or the bundled sample when `dir` is undefined. */
export async function loadCifarData(dir?: string, options: { dataset?: CifarDataset } = {}): Promise<CifarData> {
  if (dir === undefined) {
    return { train: await loadDefaultCifar10(), test: null, dataset: 'cifar10', stats: CIFAR10_STATS, source: `bundled ${DEFAULT_CIFAR10_FILE}` };
  }
  const files = await cifarDirectory(dir, { dataset: options.dataset });
  const [train, test] = await Promise.all([
    readCifarBinary(files.train, { dataset: files.dataset }),
    readCifarBinary(files.test, { dataset: files.dataset }),
  ]);
  return { train, test, dataset: files.dataset, stats: files.dataset === 'cifar100' ? CIFAR100_STATS : CIFAR10_STATS, source: files.dir };
}

/** 0, 1, …, n − 1. */
export function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
