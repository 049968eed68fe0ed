/** SVG charts for reports, rendered in Node through vega-lite and vega (no browser, no canvas). */
export { renderVegaLiteSvg, writeSvgAtomic, type RenderSvgOptions, type TopLevelSpec } from './vegaSvg.js';
export {
  heatmapSvg,
  lineChartSvg,
  scatterGridSvg,
  scatterSvg,
  type BoundLine,
  type FittedLine,
  type HeatmapOptions,
  type LineChartOptions,
  type LineSeries,
  type ScatterGridOptions,
  type ScatterOptions,
  type ScatterPanel,
  type ScatterPoint,
} from './charts.js';
