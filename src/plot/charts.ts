/**
 * The report charts as Vega-Lite specs rendered to SVG strings: metric
 * scatter plots (with an optional fitted line and a bound line), a grid of
 * small scatter panels, an annotated correlation heatmap, and best-so-far
 * line charts. The data goes inline into each spec, nothing is loaded, and
 * every number the chart prints is formatted here, so a chart is a pure
 * function of its options.
 *
 * Input is checked first (InvalidArgumentError: empty data, non-finite
 * values, non-positive values on a log axis, a non-square matrix), so a bad
 * value is reported by name instead of being silently dropped by vega.
 */
import type { TopLevelSpec } from 'vega-lite';
import { InvalidArgumentError } from '../errors.js';
import { defaultWarning, renderVegaLiteSvg, type RenderSvgOptions } from './vegaSvg.js';

type ConcatSpec = Extract<TopLevelSpec, { concat: unknown }>;
type ViewSpec = ConcatSpec['concat'][number];
type LayerSpec = Extract<ViewSpec, { layer: unknown }>;
type LayerEntry = LayerSpec['layer'][number];

const POINT_COLOR = '#4c78a8';
const FIT_COLOR = '#e45756';
const BOUND_COLOR = '#54a24b';

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

export interface ScatterPoint {
  x: number;
  y: number;
  /** Printed beside the point (keep to a few highlighted points). */
  label?: string;
}

/**
 * A line v = a + b·u in the plotted space: u = ln x on a log x axis, else x;
 * v = ln y on a log y axis, else y (so `logLogFit`'s a and b go here as they
 * are). Drawn straight across the data's extent.
 */
export interface FittedLine {
  a: number;
  b: number;
  /** Legend text; default "fit: y = a + b·x" with the numbers. */
  label?: string;
}

/** A reference line v = intercept + slope·u in the plotted space (see FittedLine), drawn dashed. */
export interface BoundLine {
  slope: number;
  /** Default 0. */
  intercept?: number;
  /** Legend text; default "bound: y = intercept + slope·x" with the numbers. */
  label?: string;
}

export interface ScatterPanel {
  points: readonly ScatterPoint[];
  title: string;
  xTitle: string;
  yTitle: string;
  logX?: boolean;
  logY?: boolean;
  line?: FittedLine;
  bound?: BoundLine;
}

export interface ScatterOptions extends ScatterPanel {
  /** Plot area in px; default 360 × 300. */
  width?: number;
  height?: number;
}

export interface ScatterGridOptions {
  panels: readonly ScatterPanel[];
  title: string;
  /** Panels per row; default min(3, panels). */
  columns?: number;
  /** Plot area of one panel in px; default 220 × 180. */
  panelWidth?: number;
  panelHeight?: number;
}

export interface HeatmapOptions {
  /** Row and column names, in display order; distinct. */
  labels: readonly string[];
  /** Square, labels.length × labels.length; null marks a missing value (drawn grey, "n/a"). */
  matrix: readonly (readonly (number | null)[])[];
  title: string;
  /** Colour scale [low, high]; values outside are clamped in colour, printed as they are. Default [-1, 1]. */
  domain?: readonly [number, number];
  /** Decimals printed in each cell; default 2. */
  digits?: number;
  /** Cell size in px; default 40. */
  cellSize?: number;
  /** Legend title; default "value". */
  valueTitle?: string;
}

export interface LineSeries {
  name: string;
  /** Drawn in the order given. */
  points: readonly { x: number; y: number }[];
}

export interface LineChartOptions {
  series: readonly LineSeries[];
  title: string;
  xTitle: string;
  yTitle: string;
  /** Step curve (value holds until the next x), for best-so-far traces. */
  step?: boolean;
  /** Draw a marker at every point. */
  showPoints?: boolean;
  logX?: boolean;
  logY?: boolean;
  /** Plot area in px; default 420 × 280. */
  width?: number;
  height?: number;
}

// ---------------------------------------------------------------------------
// Checks and formatting
// ---------------------------------------------------------------------------

function checkSize(v: number | undefined, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`${what} must be a positive number, got ${v}`);
  return v;
}

function checkText(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new InvalidArgumentError(`${what} must be a string, got ${typeof v}`);
  return v;
}

function checkCoordinate(v: number, log: boolean | undefined, what: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InvalidArgumentError(`${what} is ${v}, not a finite number`);
  if (log && v <= 0) throw new InvalidArgumentError(`${what} is ${v}, which a log axis cannot show`);
}

/** 4 significant digits, no trailing zeros, a real minus sign. */
function formatNumber(v: number): string {
  return String(Number(v.toPrecision(4))).replace('-', '−');
}

function lineText(kind: string, a: number, b: number, logX: boolean, logY: boolean): string {
  const u = logX ? 'ln x' : 'x';
  const v = logY ? 'ln y' : 'y';
  const sign = b < 0 ? '−' : '+';
  return `${kind}: ${v} = ${formatNumber(a)} ${sign} ${formatNumber(Math.abs(b))}·${u}`;
}

// ---------------------------------------------------------------------------
// Scatter
// ---------------------------------------------------------------------------

interface Extent {
  lo: number;
  hi: number;
}

/** The values' extent; a single value is widened (×/÷ 2 on a log axis, ± 10 % or ± 1 on a linear one). */
function axisExtent(values: readonly number[], log: boolean): Extent {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi > lo) return { lo, hi };
  if (log) return { lo: lo / 2, hi: hi * 2 };
  const pad = lo === 0 ? 1 : Math.abs(lo) / 10;
  return { lo: lo - pad, hi: hi + pad };
}

/**
 * The part of v = a + b·u inside the box u ∈ [u.lo, u.hi], v ∈ [v.lo, v.hi],
 * as two end points in the plotted space, or null when the line misses the
 * box (or the box has no width).
 */
function segmentInBox(a: number, b: number, u: Extent, v: Extent): [number, number][] | null {
  if (!(u.hi > u.lo)) return null;
  let lo = u.lo;
  let hi = u.hi;
  if (b === 0) {
    if (a < v.lo || a > v.hi) return null;
  } else {
    const uAtLo = (v.lo - a) / b;
    const uAtHi = (v.hi - a) / b;
    lo = Math.max(lo, Math.min(uAtLo, uAtHi));
    hi = Math.min(hi, Math.max(uAtLo, uAtHi));
    if (!(hi > lo)) return null;
  }
  return [
    [lo, a + b * lo],
    [hi, a + b * hi],
  ];
}

type QuantitativeScale =
  | { type: 'log'; nice?: true; domain?: [number, number] }
  | { zero: false; nice?: true; domain?: [number, number] };

/** A log scale, or a linear one that does not force 0 in; with `domain`, fixed to it and niced. */
function quantitativeScale(log: boolean, domain?: Extent): QuantitativeScale {
  const fixed = domain === undefined ? {} : { nice: true as const, domain: [domain.lo, domain.hi] as [number, number] };
  return log ? { type: 'log', ...fixed } : { zero: false, ...fixed };
}

function checkPanel(p: ScatterPanel, what: string): void {
  if (typeof p !== 'object' || p === null) throw new InvalidArgumentError(`${what}: options must be an object`);
  checkText(p.title, `${what}: title`);
  checkText(p.xTitle, `${what}: xTitle`);
  checkText(p.yTitle, `${what}: yTitle`);
  if (!Array.isArray(p.points) || p.points.length === 0) throw new InvalidArgumentError(`${what}: points is empty`);
  p.points.forEach((pt, i) => {
    checkCoordinate(pt.x, p.logX, `${what}: points[${i}].x`);
    checkCoordinate(pt.y, p.logY, `${what}: points[${i}].y`);
    if (pt.label !== undefined) checkText(pt.label, `${what}: points[${i}].label`);
  });
  if (p.line !== undefined) {
    checkCoordinate(p.line.a, false, `${what}: line.a`);
    checkCoordinate(p.line.b, false, `${what}: line.b`);
  }
  if (p.bound !== undefined) {
    checkCoordinate(p.bound.slope, false, `${what}: bound.slope`);
    if (p.bound.intercept !== undefined) checkCoordinate(p.bound.intercept, false, `${what}: bound.intercept`);
  }
}

/** A scatter panel as a layer spec (points, labels, overlay lines); `what` names it in warnings. */
function scatterLayer(
  p: ScatterPanel,
  width: number,
  height: number,
  what: string,
  onWarning: (message: string) => void,
): LayerSpec {
  const logX = p.logX === true;
  const logY = p.logY === true;
  const xExt = axisExtent(p.points.map((pt) => pt.x), logX);
  const yExt = axisExtent(p.points.map((pt) => pt.y), logY);
  // The domain is the data's extent (niced), so an overlay line cannot stretch the axes.
  const xScale = quantitativeScale(logX, xExt);
  const yScale = quantitativeScale(logY, yExt);
  const x = { field: 'x', type: 'quantitative' as const, title: p.xTitle };
  const y = { field: 'y', type: 'quantitative' as const, title: p.yTitle };

  const layer: LayerEntry[] = [
    {
      data: { values: p.points.map((pt) => ({ x: pt.x, y: pt.y })) },
      mark: { type: 'point', filled: true, size: 18, opacity: 0.6, color: POINT_COLOR },
      encoding: { x: { ...x, scale: xScale }, y: { ...y, scale: yScale } },
    },
  ];

  const labelled = p.points.filter((pt) => pt.label !== undefined && pt.label !== '');
  if (labelled.length > 0) {
    layer.push({
      data: { values: labelled.map((pt) => ({ x: pt.x, y: pt.y, label: pt.label })) },
      mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 4, dy: -2, fontSize: 9, color: '#333' },
      encoding: { x, y, text: { field: 'label', type: 'nominal' } },
    });
  }

  const toU = (v: number): number => (logX ? Math.log(v) : v);
  const toV = (v: number): number => (logY ? Math.log(v) : v);
  const u = { lo: toU(xExt.lo), hi: toU(xExt.hi) };
  const v = { lo: toV(yExt.lo), hi: toV(yExt.hi) };
  const overlays: { kind: string; a: number; b: number; color: string; dash: number[] }[] = [];
  if (p.line !== undefined) {
    const { a, b } = p.line;
    overlays.push({ kind: p.line.label ?? lineText('fit', a, b, logX, logY), a, b, color: FIT_COLOR, dash: [1, 0] });
  }
  if (p.bound !== undefined) {
    const a = p.bound.intercept ?? 0;
    const b = p.bound.slope;
    overlays.push({ kind: p.bound.label ?? lineText('bound', a, b, logX, logY), a, b, color: BOUND_COLOR, dash: [6, 4] });
  }
  if (overlays.length === 2 && overlays[0].kind === overlays[1].kind) {
    throw new InvalidArgumentError(`${what}: line and bound have the same label "${overlays[0].kind}"`);
  }
  const rows: { x: number; y: number; kind: string }[] = [];
  const drawn: typeof overlays = [];
  for (const o of overlays) {
    const seg = segmentInBox(o.a, o.b, u, v);
    if (seg === null) {
      onWarning(`${what}: "${o.kind}" does not cross the data's extent; not drawn`);
      continue;
    }
    drawn.push(o);
    for (const [su, sv] of seg) {
      rows.push({ x: logX ? Math.exp(su) : su, y: logY ? Math.exp(sv) : sv, kind: o.kind });
    }
  }
  if (drawn.length > 0) {
    const kinds = drawn.map((o) => o.kind);
    layer.push({
      data: { values: rows },
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x,
        y,
        color: {
          field: 'kind',
          type: 'nominal',
          scale: { domain: kinds, range: drawn.map((o) => o.color) },
          legend: { title: null, orient: 'bottom', direction: 'vertical', labelLimit: 0 },
        },
        strokeDash: {
          field: 'kind',
          type: 'nominal',
          scale: { domain: kinds, range: drawn.map((o) => o.dash) },
          legend: { title: null, orient: 'bottom', direction: 'vertical', labelLimit: 0 },
        },
      },
    });
  }
  return { title: p.title, width, height, layer };
}

/** A scatter plot of points, with an optional fitted line and bound line. */
export async function scatterSvg(options: ScatterOptions, render: RenderSvgOptions = {}): Promise<string> {
  checkPanel(options, 'scatterSvg');
  const width = checkSize(options.width, 360, 'scatterSvg: width');
  const height = checkSize(options.height, 300, 'scatterSvg: height');
  const warn = render.onWarning ?? defaultWarning;
  const spec: TopLevelSpec = scatterLayer(options, width, height, 'scatterSvg', warn);
  return renderVegaLiteSvg(spec, { onWarning: warn });
}

/** Small scatter panels side by side (e.g. one per metric), each with its own scales and title. */
export async function scatterGridSvg(options: ScatterGridOptions, render: RenderSvgOptions = {}): Promise<string> {
  checkText(options.title, 'scatterGridSvg: title');
  if (!Array.isArray(options.panels) || options.panels.length === 0) {
    throw new InvalidArgumentError('scatterGridSvg: panels is empty');
  }
  options.panels.forEach((p, i) => checkPanel(p, `scatterGridSvg: panels[${i}]`));
  const columns = options.columns ?? Math.min(3, options.panels.length);
  if (!Number.isInteger(columns) || columns < 1) {
    throw new InvalidArgumentError(`scatterGridSvg: columns must be a positive integer, got ${columns}`);
  }
  const width = checkSize(options.panelWidth, 220, 'scatterGridSvg: panelWidth');
  const height = checkSize(options.panelHeight, 180, 'scatterGridSvg: panelHeight');
  const warn = render.onWarning ?? defaultWarning;
  const spec: TopLevelSpec = {
    title: options.title,
    columns,
    concat: options.panels.map((p, i) => scatterLayer(p, width, height, `scatterGridSvg: panels[${i}]`, warn)),
    resolve: {
      scale: { x: 'independent', y: 'independent', color: 'independent', strokeDash: 'independent' },
      legend: { color: 'independent', strokeDash: 'independent' },
    },
  };
  return renderVegaLiteSvg(spec, { onWarning: warn });
}

// ---------------------------------------------------------------------------
// Heatmap
// ---------------------------------------------------------------------------

/** An annotated square heatmap, e.g. the metric × metric rank-correlation matrix. */
export async function heatmapSvg(options: HeatmapOptions, render: RenderSvgOptions = {}): Promise<string> {
  const { labels, matrix } = options;
  checkText(options.title, 'heatmapSvg: title');
  if (!Array.isArray(labels) || labels.length === 0) throw new InvalidArgumentError('heatmapSvg: labels is empty');
  labels.forEach((l, i) => checkText(l, `heatmapSvg: labels[${i}]`));
  if (new Set(labels).size !== labels.length) throw new InvalidArgumentError('heatmapSvg: labels are not distinct');
  const n = labels.length;
  if (!Array.isArray(matrix) || matrix.length !== n) {
    const rows = Array.isArray(matrix) ? matrix.length : 0;
    throw new InvalidArgumentError(`heatmapSvg: matrix has ${rows} rows for ${n} labels`);
  }
  matrix.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== n) {
      const got = Array.isArray(row) ? row.length : 0;
      throw new InvalidArgumentError(`heatmapSvg: matrix row ${i} has ${got} values; the matrix must be ${n}×${n}`);
    }
    row.forEach((v, j) => {
      if (v !== null) checkCoordinate(v, false, `heatmapSvg: matrix[${i}][${j}]`);
    });
  });
  const [lo, hi] = options.domain ?? [-1, 1];
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) {
    throw new InvalidArgumentError(`heatmapSvg: domain must be [low, high] with low < high, got [${lo}, ${hi}]`);
  }
  const digits = options.digits ?? 2;
  if (!Number.isInteger(digits) || digits < 0 || digits > 10) {
    throw new InvalidArgumentError(`heatmapSvg: digits must be an integer in [0, 10], got ${digits}`);
  }
  const cell = checkSize(options.cellSize, 40, 'heatmapSvg: cellSize');
  const valueTitle =
    options.valueTitle === undefined ? 'value' : checkText(options.valueTitle, 'heatmapSvg: valueTitle');

  const cells: { row: string; col: string; value: number | null; text: string }[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const value = matrix[i][j];
      const text = value === null ? 'n/a' : value.toFixed(digits).replace('-', '−');
      cells.push({ row: labels[i], col: labels[j], value, text });
    }
  }
  const present = cells.filter((c) => c.value !== null);
  const missing = cells.filter((c) => c.value === null);
  const order = [...labels];
  const x = { field: 'col', type: 'ordinal' as const, sort: order, title: null, axis: { labelAngle: -40, labelLimit: 160 } };
  const y = { field: 'row', type: 'ordinal' as const, sort: order, title: null, axis: { labelLimit: 160 } };
  // Dark cells (the outer fifths of the scale) get white text.
  const darkLow = lo + 0.2 * (hi - lo);
  const darkHigh = lo + 0.8 * (hi - lo);
  const darkTest = `datum.value !== null && (datum.value < ${darkLow} || datum.value > ${darkHigh})`;

  const layer: LayerEntry[] = [];
  if (present.length > 0) {
    layer.push({
      data: { values: present },
      mark: { type: 'rect' },
      encoding: {
        x,
        y,
        color: {
          field: 'value',
          type: 'quantitative',
          title: valueTitle,
          scale: { scheme: 'redblue', domain: [lo, hi], clamp: true },
        },
      },
    });
  }
  if (missing.length > 0) {
    layer.push({ data: { values: missing }, mark: { type: 'rect', color: '#e6e6e6' }, encoding: { x, y } });
  }
  layer.push({
    data: { values: cells },
    mark: { type: 'text', fontSize: Math.round(Math.max(7, Math.min(12, cell / 3.6))) },
    encoding: {
      x,
      y,
      text: { field: 'text', type: 'nominal' },
      color: { condition: { test: darkTest, value: 'white' }, value: 'black' },
    },
  });
  const spec: TopLevelSpec = { title: options.title, width: { step: cell }, height: { step: cell }, layer };
  return renderVegaLiteSvg(spec, render);
}

// ---------------------------------------------------------------------------
// Line chart
// ---------------------------------------------------------------------------

/** One line per series (e.g. best-so-far accuracy against evaluations), optionally as steps. */
export async function lineChartSvg(options: LineChartOptions, render: RenderSvgOptions = {}): Promise<string> {
  checkText(options.title, 'lineChartSvg: title');
  checkText(options.xTitle, 'lineChartSvg: xTitle');
  checkText(options.yTitle, 'lineChartSvg: yTitle');
  const { series } = options;
  if (!Array.isArray(series) || series.length === 0) throw new InvalidArgumentError('lineChartSvg: series is empty');
  const names = series.map((s, i) => checkText(s.name, `lineChartSvg: series[${i}].name`));
  if (new Set(names).size !== names.length) throw new InvalidArgumentError('lineChartSvg: series names are not distinct');
  const rows: { series: string; x: number; y: number; i: number }[] = [];
  series.forEach((s, k) => {
    if (!Array.isArray(s.points) || s.points.length === 0) {
      throw new InvalidArgumentError(`lineChartSvg: series[${k}] ("${s.name}") has no points`);
    }
    s.points.forEach((pt: { x: number; y: number }, i: number) => {
      checkCoordinate(pt.x, options.logX, `lineChartSvg: series[${k}].points[${i}].x`);
      checkCoordinate(pt.y, options.logY, `lineChartSvg: series[${k}].points[${i}].y`);
      rows.push({ series: s.name, x: pt.x, y: pt.y, i });
    });
  });
  const width = checkSize(options.width, 420, 'lineChartSvg: width');
  const height = checkSize(options.height, 280, 'lineChartSvg: height');
  const spec: TopLevelSpec = {
    title: options.title,
    width,
    height,
    data: { values: rows },
    mark: {
      type: 'line',
      interpolate: options.step ? 'step-after' : 'linear',
      strokeWidth: 1.5,
      point: options.showPoints ? { filled: true, size: 20 } : false,
    },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xTitle, scale: quantitativeScale(options.logX === true) },
      y: { field: 'y', type: 'quantitative', title: options.yTitle, scale: quantitativeScale(options.logY === true) },
      color: { field: 'series', type: 'nominal', sort: names, legend: series.length > 1 ? { title: null } : null },
      order: { field: 'i', type: 'quantitative' },
    },
  };
  return renderVegaLiteSvg(spec, render);
}
