/**
 * Whole-file writes that a crash cannot leave half done: the data goes to a
 * temporary file in the same folder (so the rename stays on one file
 * system), is flushed to disk, and is renamed over the target. Readers see
 * the old file or the new one, never a torn one. Models, plots, checkpoints
 * and reports all go through here.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { InvalidArgumentError } from '../errors.js';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new InvalidArgumentError('writeFileAtomic: path must be a non-empty string');
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let created = false;
  try {
    const file = await open(tmp, 'wx');
    created = true;
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (error) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw error;
  }
}
