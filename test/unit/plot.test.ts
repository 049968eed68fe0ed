/**
 * The SVG charts: each renders in plain Node (no canvas), is well-formed XML
 * (fast-xml-parser's validator and parser), has an <svg> root with a size,
 * draws one mark per data point (counted by the ARIA role description vega
 * gives each mark item), prints its titles, and is byte-identical across
 * renders. Bad input throws InvalidArgumentError; writeSvgAtomic leaves no
 * temporary file behind.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  heatmapSvg,
  lineChartSvg,
  renderVegaLiteSvg,
  scatterGridSvg,
  scatterSvg,
  writeSvgAtomic,
  type ScatterPoint,
} from '../../src/plot/index.js';
import { Rng } from '../../src/spaces/rng.js';

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  /** Character data directly inside this element, entities decoded. */
  text: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** fast-xml-parser's preserveOrder output → a small typed tree. */
function toNodes(list: unknown): XmlNode[] {
  if (!Array.isArray(list)) throw new Error('expected a node list');
  const out: XmlNode[] = [];
  for (const entry of list) {
    if (!isRecord(entry)) throw new Error('expected a node object');
    const name = Object.keys(entry).find((k) => k !== ':@' && k !== '#text');
    if (name === undefined) continue; // a text node, collected by the parent
    const rawAttrs = isRecord(entry[':@']) ? entry[':@'] : {};
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(rawAttrs)) attrs[k] = String(v);
    const kids = entry[name];
    const text = Array.isArray(kids)
      ? kids
          .filter((k): k is { '#text': unknown } => isRecord(k) && '#text' in k)
          .map((k) => String(k['#text']))
          .join('')
      : '';
    out.push({ name, attrs, children: toNodes(kids), text });
  }
  return out;
}

/** Validates the SVG as XML and returns its root element. */
function parseSvg(svg: string): XmlNode {
  const valid = XMLValidator.validate(svg);
  if (valid !== true) throw new Error(`not well-formed XML: ${JSON.stringify(valid.err)}`);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    preserveOrder: true,
    trimValues: false,
    parseTagValue: false, // keep "1.00" as text
  });
  const roots = toNodes(parser.parse(svg));
  expect(roots).toHaveLength(1);
  return roots[0];
}

function* walk(node: XmlNode): Generator<XmlNode> {
  yield node;
  for (const c of node.children) yield* walk(c);
}

/** Mark items of one kind ("point", "line mark", "rect mark", "text mark", …). */
function countMarks(root: XmlNode, role: string): number {
  let n = 0;
  for (const e of walk(root)) if (e.attrs['aria-roledescription'] === role) n++;
  return n;
}

function texts(root: XmlNode): string[] {
  return [...walk(root)].filter((e) => e.name === 'text').map((e) => e.text);
}

/** Root checks shared by every chart; returns the tree. */
function checkSvg(svg: string): XmlNode {
  const root = parseSvg(svg);
  expect(root.name).toBe('svg');
  expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
  expect(Number(root.attrs.width)).toBeGreaterThan(0);
  expect(Number(root.attrs.height)).toBeGreaterThan(0);
  return root;
}

function collector(): { warnings: string[]; onWarning: (m: string) => void } {
  const warnings: string[] = [];
  return { warnings, onWarning: (m) => void warnings.push(m) };
}

function powerLawPoints(n: number, seed: number): ScatterPoint[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const x = Math.exp(2 * rng.normal() + 3);
    return { x, y: 0.5 * x ** 1.3 * Math.exp(0.3 * rng.normal()) };
  });
}

const tmpRoot = mkdtempSync(join(tmpdir(), 'hnas-plot-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

describe('the XML check itself', () => {
  it('rejects malformed XML', () => {
    expect(XMLValidator.validate('<svg><g></svg>')).not.toBe(true);
    expect(XMLValidator.validate('<svg>a & b</svg>')).not.toBe(true);
  });
});

describe('scatterSvg', () => {
  it('draws one point mark per point, titles, labels (escaped), fit and bound lines, without warnings', async () => {
    const points = powerLawPoints(120, 3);
    points[5] = { ...points[5], label: 'arch <#5> & co' };
    const { warnings, onWarning } = collector();
    const svg = await scatterSvg(
      {
        points,
        title: 'synflow vs params',
        xTitle: 'params',
        yTitle: 'synflow',
        logX: true,
        logY: true,
        line: { a: Math.log(0.5), b: 1.3 },
        bound: { slope: 1 },
      },
      { onWarning },
    );
    const root = checkSvg(svg);
    expect(countMarks(root, 'point')).toBe(120);
    expect(countMarks(root, 'line mark')).toBe(2);
    const t = texts(root);
    for (const s of ['synflow vs params', 'params', 'synflow', 'arch <#5> & co']) expect(t).toContain(s);
    expect(t).toContain('fit: ln y = −0.6931 + 1.3·ln x');
    expect(t).toContain('bound: ln y = 0 + 1·ln x');
    expect(warnings).toEqual([]);
  });

  it('plain axes without overlays: no lines, no legend', async () => {
    const svg = await scatterSvg({
      points: [
        { x: -1, y: 2 },
        { x: 0, y: -3 },
        { x: 4.5, y: 1 },
      ],
      title: 'T',
      xTitle: 'X',
      yTitle: 'Y',
    });
    const root = checkSvg(svg);
    expect(countMarks(root, 'point')).toBe(3);
    expect(countMarks(root, 'line mark')).toBe(0);
    expect(countMarks(root, 'legend')).toBe(0);
  });

  it('renders a single point', async () => {
    const root = checkSvg(await scatterSvg({ points: [{ x: 1, y: 1 }], title: 'one', xTitle: 'x', yTitle: 'y' }));
    expect(countMarks(root, 'point')).toBe(1);
  });

  it('skips, with a warning, an overlay line that misses the data', async () => {
    const { warnings, onWarning } = collector();
    const svg = await scatterSvg(
      {
        points: [
          { x: 0, y: 0 },
          { x: 1, y: 1 },
        ],
        title: 'T',
        xTitle: 'x',
        yTitle: 'y',
        line: { a: 0, b: 1 },
        bound: { slope: 0, intercept: 10, label: 'ceiling' },
      },
      { onWarning },
    );
    const root = checkSvg(svg);
    expect(countMarks(root, 'line mark')).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/"ceiling" does not cross/);
  });

  it('gives the same bytes every time, also when rendered concurrently', async () => {
    const opts = { points: powerLawPoints(30, 9), title: 'T', xTitle: 'x', yTitle: 'y', line: { a: 1, b: 2 } };
    const first = await scatterSvg(opts);
    const again = await Promise.all([scatterSvg(opts), scatterSvg(opts), scatterSvg(opts)]);
    for (const s of again) expect(s).toBe(first);
  });

  it('throws InvalidArgumentError on bad input', async () => {
    const base = { title: 'T', xTitle: 'x', yTitle: 'y' };
    await expect(scatterSvg({ ...base, points: [] })).rejects.toThrow(InvalidArgumentError);
    await expect(scatterSvg({ ...base, points: [{ x: Number.NaN, y: 1 }] })).rejects.toThrow(/points\[0\]\.x is NaN/);
    await expect(scatterSvg({ ...base, points: [{ x: 1, y: Number.POSITIVE_INFINITY }] })).rejects.toThrow(InvalidArgumentError);
    await expect(scatterSvg({ ...base, points: [{ x: 0, y: 1 }], logX: true })).rejects.toThrow(/log axis/);
    await expect(scatterSvg({ ...base, points: [{ x: 1, y: -1 }], logY: true })).rejects.toThrow(/log axis/);
    await expect(scatterSvg({ ...base, points: [{ x: 1, y: 1 }], line: { a: Number.NaN, b: 1 } })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(scatterSvg({ ...base, points: [{ x: 1, y: 1 }], width: 0 })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('scatterGridSvg', () => {
  it('draws every panel with its own points and title', async () => {
    const rng = new Rng(4);
    const linear = Array.from({ length: 40 }, (_, i) => ({ x: i, y: 2 * i + 5 * rng.normal() }));
    const panels = [
      {
        points: powerLawPoints(50, 1),
        title: 'synflow',
        xTitle: 'params',
        yTitle: 'score',
        logX: true,
        logY: true,
        line: { a: -0.7, b: 1.3 },
      },
      { points: linear, title: 'naswot', xTitle: 'accuracy', yTitle: 'score', line: { a: 0, b: 2 } },
      { points: linear.slice(0, 7), title: 'zico', xTitle: 'accuracy', yTitle: 'score' },
      { points: [{ x: 3, y: 4 }], title: 'ntk_cond', xTitle: 'accuracy', yTitle: 'score' },
    ];
    const { warnings, onWarning } = collector();
    const svg = await scatterGridSvg({ panels, title: 'metrics against accuracy', columns: 2 }, { onWarning });
    const root = checkSvg(svg);
    expect(countMarks(root, 'point')).toBe(50 + 40 + 7 + 1);
    expect(countMarks(root, 'line mark')).toBe(2);
    const t = texts(root);
    for (const s of ['metrics against accuracy', 'synflow', 'naswot', 'zico', 'ntk_cond']) expect(t).toContain(s);
    expect(warnings).toEqual([]);
  });

  it('throws InvalidArgumentError on bad input', async () => {
    const panel = { points: [{ x: 1, y: 1 }], title: 'p', xTitle: 'x', yTitle: 'y' };
    await expect(scatterGridSvg({ panels: [], title: 'T' })).rejects.toThrow(InvalidArgumentError);
    await expect(scatterGridSvg({ panels: [panel, { ...panel, points: [] }], title: 'T' })).rejects.toThrow(/panels\[1\]/);
    await expect(scatterGridSvg({ panels: [panel], title: 'T', columns: 0 })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('heatmapSvg', () => {
  const labels = ['synflow', 'naswot', 'ntk_cond', 'params'];
  const matrix = [
    [1, 0.41, -0.28, 0.9],
    [0.41, 1, -0.54, null],
    [-0.28, -0.54, 1, 0.1],
    [0.9, null, 0.1, 1],
  ];

  it('draws one cell and one annotation per entry, n/a for missing values', async () => {
    const { warnings, onWarning } = collector();
    const svg = await heatmapSvg({ labels, matrix, title: 'Kendall τ <between> metrics' }, { onWarning });
    const root = checkSvg(svg);
    expect(countMarks(root, 'rect mark')).toBe(16); // 14 coloured + 2 grey
    expect(countMarks(root, 'text mark')).toBe(16);
    const t = texts(root);
    expect(t).toContain('Kendall τ <between> metrics');
    for (const l of labels) expect(t).toContain(l);
    for (const v of ['1.00', '0.41', '−0.28', '−0.54', '0.90', '0.10', 'n/a']) expect(t).toContain(v);
    expect(t.filter((s) => s === 'n/a')).toHaveLength(2);
    expect(warnings).toEqual([]);
  });

  it('gives the same bytes every time (gradient ids are reset)', async () => {
    const a = await heatmapSvg({ labels, matrix, title: 'T', domain: [-1, 1], digits: 3 });
    const b = await heatmapSvg({ labels, matrix, title: 'T', domain: [-1, 1], digits: 3 });
    expect(b).toBe(a);
    expect(a).toContain('gradient_0');
    expect(a).toContain('0.410');
  });

  it('throws InvalidArgumentError on bad input', async () => {
    await expect(heatmapSvg({ labels: [], matrix: [], title: 'T' })).rejects.toThrow(InvalidArgumentError);
    await expect(heatmapSvg({ labels: ['a', 'b'], matrix: [[1, 2]], title: 'T' })).rejects.toThrow(/1 rows for 2 labels/);
    await expect(heatmapSvg({ labels: ['a', 'b'], matrix: [[1, 2], [3]], title: 'T' })).rejects.toThrow(/must be 2×2/);
    await expect(heatmapSvg({ labels: ['a', 'a'], matrix: [[1, 2], [3, 4]], title: 'T' })).rejects.toThrow(/distinct/);
    await expect(heatmapSvg({ labels: ['a'], matrix: [[Number.NaN]], title: 'T' })).rejects.toThrow(InvalidArgumentError);
    await expect(heatmapSvg({ labels: ['a'], matrix: [[0]], title: 'T', domain: [1, 1] })).rejects.toThrow(/low < high/);
  });
});

describe('lineChartSvg', () => {
  function bestSoFar(seed: number, n: number): { x: number; y: number }[] {
    const rng = new Rng(seed);
    let best = -Infinity;
    return Array.from({ length: n }, (_, i) => {
      best = Math.max(best, 85 + 3 * rng.normal());
      return { x: i + 1, y: best };
    });
  }

  it('draws one line per series, points when asked, and a legend', async () => {
    const series = [
      { name: 'random', points: bestSoFar(1, 25) },
      { name: 'REA', points: bestSoFar(2, 25) },
      { name: 'hybrid', points: bestSoFar(3, 12) },
    ];
    const { warnings, onWarning } = collector();
    const svg = await lineChartSvg(
      { series, title: 'best so far', xTitle: 'evaluations', yTitle: 'accuracy (%)', step: true, showPoints: true },
      { onWarning },
    );
    const root = checkSvg(svg);
    expect(countMarks(root, 'line mark')).toBe(3);
    expect(countMarks(root, 'point')).toBe(62);
    expect(countMarks(root, 'legend')).toBe(1);
    const t = texts(root);
    for (const s of ['best so far', 'evaluations', 'accuracy (%)', 'random', 'REA', 'hybrid']) expect(t).toContain(s);
    expect(warnings).toEqual([]);
  });

  it('one series: a line, no points, no legend; log axes', async () => {
    const { warnings, onWarning } = collector();
    const svg = await lineChartSvg(
      {
        series: [{ name: 'only', points: bestSoFar(5, 40) }],
        title: 'T',
        xTitle: 'x',
        yTitle: 'y',
        logX: true,
        logY: true,
      },
      { onWarning },
    );
    const root = checkSvg(svg);
    expect(countMarks(root, 'line mark')).toBe(1);
    expect(countMarks(root, 'point')).toBe(0);
    expect(countMarks(root, 'legend')).toBe(0);
    expect(warnings).toEqual([]);
  });

  it('throws InvalidArgumentError on bad input', async () => {
    const base = { title: 'T', xTitle: 'x', yTitle: 'y' };
    await expect(lineChartSvg({ ...base, series: [] })).rejects.toThrow(InvalidArgumentError);
    await expect(lineChartSvg({ ...base, series: [{ name: 'a', points: [] }] })).rejects.toThrow(/no points/);
    const one = [{ x: 1, y: 1 }];
    const twice = [
      { name: 'a', points: one },
      { name: 'a', points: one },
    ];
    await expect(lineChartSvg({ ...base, series: twice })).rejects.toThrow(/distinct/);
    const atZero = [{ name: 'a', points: [{ x: 0, y: 1 }] }];
    await expect(lineChartSvg({ ...base, series: atZero, logX: true })).rejects.toThrow(/log axis/);
  });
});

describe('renderVegaLiteSvg', () => {
  it('renders a hand-written spec and routes warnings to onWarning', async () => {
    const { warnings, onWarning } = collector();
    const svg = await renderVegaLiteSvg(
      {
        data: { values: [{ a: 1, b: 2 }, { a: 2, b: 3 }] },
        mark: 'bar',
        encoding: {
          x: { field: 'a', type: 'ordinal' },
          y: { field: 'b', type: 'quantitative', scale: { type: 'log', zero: true } },
        },
      },
      { onWarning },
    );
    expect(countMarks(checkSvg(svg), 'bar')).toBe(2);
    expect(warnings.join('\n')).toMatch(/zero/);
  });

  it('rejects a spec that does not compile', async () => {
    // @ts-expect-error -- an unknown mark type, as untyped JSON could carry
    await expect(renderVegaLiteSvg({ data: { values: [] }, mark: 'nope' })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('writeSvgAtomic', () => {
  it('writes the document and leaves no temporary file', async () => {
    const dir = join(tmpRoot, 'ok');
    await mkdir(dir);
    const svg = await scatterSvg({ points: [{ x: 1, y: 2 }], title: 'T', xTitle: 'x', yTitle: 'y' });
    const path = join(dir, 'scatter.svg');
    await writeSvgAtomic(path, svg);
    await writeSvgAtomic(path, svg); // overwrites
    expect(readFileSync(path, 'utf8')).toBe(svg);
    expect(readdirSync(dir)).toEqual(['scatter.svg']);
  });

  it('rejects text that is not SVG, and cleans up when the rename fails', async () => {
    const dir = join(tmpRoot, 'fail');
    await mkdir(join(dir, 'taken.svg'), { recursive: true }); // a folder where the file should go
    await expect(writeSvgAtomic(join(dir, 'x.svg'), 'hello')).rejects.toThrow(InvalidArgumentError);
    await expect(writeSvgAtomic(join(dir, 'taken.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>')).rejects.toThrow();
    expect(readdirSync(dir)).toEqual(['taken.svg']);
  });
});
