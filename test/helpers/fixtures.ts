/**
 * Access to the PyTorch fixtures copied into test/fixtures/nb201 (see
 * test/fixtures/PROVENANCE.md). Paths are resolved from this file, never from
 * the working directory.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'nb201');

export const FIXTURES = [
  '13714_seed0',
  '1835_seed0',
  '376_seed0',
  '4948_seed0',
  '4948_seed1',
  '7581_seed0',
  '9930_seed0',
] as const;
export type FixtureName = (typeof FIXTURES)[number];

function bytes(path: string): ArrayBuffer {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export function fixturePath(name: FixtureName, file: string): string {
  return join(FIXTURE_ROOT, name, file);
}

/** The shared batch: float32 [64,3,32,32] and int32 [64]. */
export function fixtureBatch(): { input: Float32Array; labels: Int32Array } {
  return {
    input: new Float32Array(bytes(join(FIXTURE_ROOT, 'input.bin'))),
    labels: new Int32Array(bytes(join(FIXTURE_ROOT, 'labels.bin'))),
  };
}

export function readF64(name: FixtureName, file: string): Float64Array {
  return new Float64Array(bytes(fixturePath(name, file)));
}

export function readF32(name: FixtureName, file: string): Float32Array {
  return new Float32Array(bytes(fixturePath(name, file)));
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Expected = Record<string, any>;

export function expected(name: FixtureName): Expected {
  return JSON.parse(readFileSync(fixturePath(name, 'expected.json'), 'utf8')) as Expected;
}

export function tolerances(): Expected {
  return JSON.parse(readFileSync(join(FIXTURE_ROOT, 'tolerances.json'), 'utf8')) as Expected;
}
