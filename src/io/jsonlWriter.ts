/**
 * An append-only JSONL results file that survives being killed mid-run.
 *
 * open() reads the rows already there, drops a torn last line (what a crash
 * during a write leaves) by rewriting the file without it — write a temp file
 * beside it, fsync, rename — and remembers each row's key. append() writes one
 * whole line with one write on an 'a'-mode descriptor and fdatasyncs it, so a
 * kill loses at most the row in flight; a key already present is refused, so
 * the file never holds a duplicate.
 */
import { mkdir, open as openFile, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DataFormatError, DisposedError, FileNotFoundError, InvalidArgumentError } from '../errors.js';

export type JsonlRow = Record<string, unknown>;

export interface JsonlWriterOptions<T extends JsonlRow> {
  /** The identity of a row: rows with equal keys are the same piece of work. */
  key: (row: T) => string;
}

export class JsonlWriter<T extends JsonlRow = JsonlRow> {
  readonly path: string;
  /** Rows in the file, by key, in file order. */
  readonly rows: Map<string, T>;
  /** Lines dropped by open(): 1 when a torn last line was removed, else 0. */
  readonly droppedLines: number;
  #handle: FileHandle | undefined;
  readonly #key: (row: T) => string;

  private constructor(path: string, handle: FileHandle, rows: Map<string, T>, dropped: number, key: (row: T) => string) {
    this.path = path;
    this.#handle = handle;
    this.rows = rows;
    this.droppedLines = dropped;
    this.#key = key;
  }

  /**
   * Opens (creating if needed) `path`. A line that does not parse, or whose
   * key cannot be taken, is a DataFormatError — unless it is the last line,
   * which is then taken as a torn write and removed from the file.
   */
  static async open<T extends JsonlRow>(path: string, options: JsonlWriterOptions<T>): Promise<JsonlWriter<T>> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new FileNotFoundError(path, { cause: error });
      // A new file: its folder may not exist yet (e.g. runs/ in a fresh checkout).
      try {
        await mkdir(dirname(path), { recursive: true });
      } catch (cause) {
        throw new FileNotFoundError(dirname(path), { cause });
      }
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop(); // the newline ending the last complete row
    const rows = new Map<string, T>();
    const kept: string[] = [];
    let dropped = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (line.trim() === '') continue;
      let row: T;
      let key: string;
      try {
        const parsed: unknown = JSON.parse(line);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
        row = parsed as T;
        key = options.key(row);
      } catch (cause) {
        if (i === lines.length - 1) {
          dropped = 1;
          break;
        }
        throw new DataFormatError(`${path}: line ${i + 1} is not a valid row (${(cause as Error).message})`, { cause });
      }
      if (rows.has(key)) throw new DataFormatError(`${path}: line ${i + 1} repeats the row ${key}`);
      rows.set(key, row);
      kept.push(line);
    }
    const clean = kept.map((l) => l + '\n').join('');
    if (clean !== text && text !== '') await writeAtomically(path, clean);
    const handle = await openFile(path, 'a');
    return new JsonlWriter(path, handle, rows, dropped, options.key);
  }

  has(key: string): boolean {
    return this.rows.has(key);
  }

  /** Writes one row as one line and syncs it to disk. */
  async append(row: T): Promise<void> {
    const handle = this.#handle;
    if (!handle) throw new DisposedError(`the JSONL writer of ${this.path}`);
    const key = this.#key(row);
    if (this.rows.has(key)) throw new InvalidArgumentError(`${this.path}: already holds the row ${key}`);
    const line = JSON.stringify(row) + '\n';
    await handle.appendFile(line, { encoding: 'utf8' });
    await handle.datasync();
    this.rows.set(key, row);
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}

/** Replaces `path` with `text`: write a temp file beside it, fsync, rename over. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  const handle = await openFile(tmp, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(tmp, path);
}
