/**
 * Training checkpoints: one binary file per run, rewritten atomically at the
 * end of every epoch (src/io/atomicWrite.ts: temporary file, fsync, rename),
 * so a crash leaves the previous epoch's checkpoint or this one, never a
 * torn file.
 *
 * Layout (little-endian):
 *   8 bytes   magic "HNASCKPT"
 *   u32       format version (1)
 *   u32       header length H
 *   H bytes   header: UTF-8 JSON (CheckpointHeader), padded with spaces to a multiple of 8
 *   arrays    each array's raw values in header order, each starting at a multiple of 8
 *   u32       FNV-1a of every byte before it
 *
 * The arrays are the full parameter vector (running statistics included) and
 * the momentum buffer, in the network's dtype, so a resumed run starts from
 * exactly the state the uninterrupted run had.
 */
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';

import { DataFormatError, FileNotFoundError, UnsupportedError } from '../errors.js';
import { writeFileAtomic } from '../io/atomicWrite.js';

const MAGIC = 'HNASCKPT';
export const CHECKPOINT_VERSION = 1;

export type CheckpointDtype = 'float32' | 'float64';

export interface CheckpointArrayInfo {
  name: string;
  dtype: CheckpointDtype;
  length: number;
}

/** What a checkpoint records besides the arrays; `meta` is the trainer's (JSON). */
export interface CheckpointHeader<M = unknown> {
  arrays: CheckpointArrayInfo[];
  meta: M;
}

export interface Checkpoint<M = unknown> {
  meta: M;
  arrays: Record<string, Float32Array | Float64Array>;
}

function fnv1a(bytes: Uint8Array, end: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const pad8 = (n: number) => (n + 7) & ~7;

function checkEndianness(): void {
  if (endianness() !== 'LE') throw new UnsupportedError('training checkpoints are written on little-endian hosts only');
}

/** The checkpoint bytes. */
export function encodeCheckpoint<M>(meta: M, arrays: Record<string, Float32Array | Float64Array>): Uint8Array {
  checkEndianness();
  const infos: CheckpointArrayInfo[] = Object.entries(arrays).map(([name, a]) => ({
    name,
    dtype: a instanceof Float64Array ? 'float64' : 'float32',
    length: a.length,
  }));
  let headerText = JSON.stringify({ arrays: infos, meta } satisfies CheckpointHeader<M>);
  const headerBytes0 = Buffer.byteLength(headerText, 'utf8');
  headerText += ' '.repeat(pad8(16 + headerBytes0) - 16 - headerBytes0);
  const header = Buffer.from(headerText, 'utf8');
  let size = 16 + header.length;
  for (const a of Object.values(arrays)) size = pad8(size + a.byteLength);
  size += 4;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, header.length, true);
  out.set(header, 16);
  let at = 16 + header.length;
  for (const a of Object.values(arrays)) {
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
    at = pad8(at + a.byteLength);
  }
  view.setUint32(at, fnv1a(out, at), true);
  return out;
}

/** Parses checkpoint bytes; DataFormatError names what is wrong. */
export function decodeCheckpoint<M>(bytes: Uint8Array, name = 'checkpoint'): Checkpoint<M> {
  checkEndianness();
  const bad = (why: string) => new DataFormatError(`${name}: not a valid hnas training checkpoint (${why})`);
  if (bytes.length < 20 || Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== MAGIC) throw bad('no HNASCKPT magic');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) throw bad(`format version ${version}, expected ${CHECKPOINT_VERSION}`);
  const headerLength = view.getUint32(12, true);
  if (16 + headerLength + 4 > bytes.length) throw bad('truncated header');
  let header: CheckpointHeader<M>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(16, 16 + headerLength)).toString('utf8')) as CheckpointHeader<M>;
  } catch (cause) {
    throw new DataFormatError(`${name}: the checkpoint header is not JSON`, { cause });
  }
  if (!header || !Array.isArray(header.arrays)) throw bad('no array table');
  let at = 16 + headerLength;
  const arrays: Record<string, Float32Array | Float64Array> = {};
  for (const info of header.arrays) {
    const width = info.dtype === 'float64' ? 8 : info.dtype === 'float32' ? 4 : 0;
    if (width === 0 || !Number.isSafeInteger(info.length) || info.length < 0) throw bad(`array "${info.name}" has a bad type or length`);
    const byteLength = info.length * width;
    if (at + byteLength + 4 > bytes.length) throw bad(`truncated array "${info.name}"`);
    // Copy into a fresh, aligned buffer.
    const copy = new Uint8Array(bytes.subarray(at, at + byteLength));
    arrays[info.name] = width === 8 ? new Float64Array(copy.buffer) : new Float32Array(copy.buffer);
    at = pad8(at + byteLength);
  }
  if (at + 4 !== bytes.length) throw bad(`${bytes.length - at - 4} unexpected trailing bytes`);
  const stored = view.getUint32(at, true);
  if (stored !== fnv1a(bytes, at)) throw bad('checksum mismatch');
  return { meta: header.meta, arrays };
}

/** Writes a checkpoint atomically. */
export async function writeCheckpoint<M>(path: string, meta: M, arrays: Record<string, Float32Array | Float64Array>): Promise<void> {
  await writeFileAtomic(path, encodeCheckpoint(meta, arrays));
}

/** Reads a checkpoint; FileNotFoundError when absent, DataFormatError when malformed. */
export async function readCheckpoint<M>(path: string): Promise<Checkpoint<M>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new FileNotFoundError(path, { cause });
  }
  return decodeCheckpoint<M>(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
}
