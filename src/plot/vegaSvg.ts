/**
 * Vega-Lite spec → SVG string in plain Node, so reports need no browser and
 * no native canvas: vega-lite compiles the spec, vega runs it headless
 * (renderer 'none') and serialises the scene with its SVG string renderer.
 * Without the optional `canvas` package vega estimates text widths from font
 * size and character count, which is enough for layout and keeps the output
 * identical on every machine.
 *
 * Renders are serialised and vega's clip/gradient id counters are reset
 * before each one, so the same spec always gives the same bytes.
 */
import { logger, parse, resetSVGDefIds, View, Warn } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { InvalidArgumentError } from '../errors.js';
import { writeFileAtomic } from '../io/atomicWrite.js';

export type { TopLevelSpec } from 'vega-lite';

export interface RenderSvgOptions {
  /**
   * Receives vega-lite's and vega's warnings (e.g. a field with no valid
   * values). Default: `process.emitWarning` with type 'VegaWarning'.
   */
  onWarning?: (message: string) => void;
}

function messageOf(args: readonly unknown[]): string {
  return args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
}

/** Where warnings go when the caller gives no `onWarning`. */
export function defaultWarning(message: string): void {
  process.emitWarning(message, { type: 'VegaWarning' });
}

async function renderNow(spec: TopLevelSpec, onWarning: (message: string) => void): Promise<string> {
  const errors: string[] = [];
  const log = logger(Warn, undefined, (_method, level, args) => {
    if (level === 'ERROR') errors.push(messageOf(args));
    else onWarning(messageOf(args));
  });
  let view: View;
  try {
    view = new View(parse(compile(spec, { logger: log }).spec), { renderer: 'none', logger: log, logLevel: Warn });
  } catch (cause) {
    throw new InvalidArgumentError(`renderVegaLiteSvg: the spec does not compile: ${messageOf([cause])}`, { cause });
  }
  try {
    await view.runAsync();
    resetSVGDefIds();
    const svg = await view.toSVG();
    // vega logs dataflow errors instead of rejecting; they are failures here.
    if (errors.length > 0) throw new InvalidArgumentError(`renderVegaLiteSvg: vega reported: ${errors.join('; ')}`);
    return svg;
  } finally {
    view.finalize();
  }
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Renders a Vega-Lite spec (data inline as `values`) to a standalone SVG
 * document. Throws InvalidArgumentError when the spec does not compile or
 * vega reports an error while running it.
 */
export function renderVegaLiteSvg(spec: TopLevelSpec, options: RenderSvgOptions = {}): Promise<string> {
  const onWarning = options.onWarning ?? defaultWarning;
  // One render at a time: the id counters reset above are module-global in vega.
  const result = queue.then(() => renderNow(spec, onWarning));
  queue = result.catch(() => undefined);
  return result;
}

/**
 * Writes an SVG document atomically: the text goes to a temporary file in
 * the same folder, is flushed to disk, and the file is renamed over `path`,
 * so a viewer never sees a half-written plot.
 */
export async function writeSvgAtomic(path: string, svg: string): Promise<void> {
  if (typeof path !== 'string' || path === '') {
    throw new InvalidArgumentError('writeSvgAtomic: path must be a non-empty string');
  }
  if (typeof svg !== 'string' || !/^\s*(<\?xml[^>]*>\s*)?<svg[\s>]/.test(svg)) {
    throw new InvalidArgumentError(`writeSvgAtomic: ${path}: the text is not an SVG document (no leading <svg)`);
  }
  await writeFileAtomic(path, svg);
}
