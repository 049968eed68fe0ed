/**
 * The metric registry: one explicit table from id to definition. Nothing is
 * registered by importing a module; adding a metric means adding a line
 * here (and to MetricId in types.ts — the table's type makes a missing or
 * extra entry a compile error).
 */
import { InvalidArgumentError } from '../errors.js';
import { fisherMetric } from './fisher.js';
import { gradNormGlobalMetric, gradNormMetric } from './gradNorm.js';
import { graspMetric } from './grasp.js';
import { jacobCovMetric } from './jacobCov.js';
import { knasMetric } from './knas.js';
import { naswotDistinctMetric, naswotMetric } from './naswot.js';
import { macsMetric, paramsMetric } from './networkSize.js';
import { ntkCondMetric } from './ntkCond.js';
import { ntkTraceMetric } from './ntkTrace.js';
import { plainMetric } from './plain.js';
import { snipMetric } from './snip.js';
import { logSynflowMetric, synflowMetric } from './synflow.js';
import { teNasCondMetric } from './teNasCond.js';
import { teNasTraceMetric } from './teNasTrace.js';
import type { MetricDef, MetricId } from './types.js';
import { zicoMetric } from './zico.js';

export const METRICS: Readonly<Record<MetricId, MetricDef>> = Object.freeze({
  ntk_trace: ntkTraceMetric,
  ntk_cond: ntkCondMetric,
  te_nas_cond: teNasCondMetric,
  te_nas_trace: teNasTraceMetric,
  grad_norm: gradNormMetric,
  grad_norm_global: gradNormGlobalMetric,
  snip: snipMetric,
  grasp: graspMetric,
  plain: plainMetric,
  fisher: fisherMetric,
  synflow: synflowMetric,
  log_synflow: logSynflowMetric,
  jacob_cov: jacobCovMetric,
  naswot: naswotMetric,
  naswot_distinct: naswotDistinctMetric,
  knas: knasMetric,
  zico: zicoMetric,
  params: paramsMetric,
  macs: macsMetric,
});

/** Every metric id, in the canonical order (the HNAS pair first, then as in MetricId). */
export const METRIC_IDS: readonly MetricId[] = Object.freeze(Object.keys(METRICS) as MetricId[]);

/** Named groups accepted by parseMetricList. */
export const METRIC_GROUPS: Readonly<Record<'all' | 'hnas', readonly MetricId[]>> = Object.freeze({
  all: METRIC_IDS,
  /** The HNAS metric pair: the NTK trace norm and condition number. */
  hnas: Object.freeze(['ntk_trace', 'ntk_cond'] as const),
});

export function isMetricId(value: string): value is MetricId {
  return Object.prototype.hasOwnProperty.call(METRICS, value);
}

/** The definition of a metric; InvalidArgumentError naming the valid ids for anything else. */
export function getMetric(id: string): MetricDef {
  if (!isMetricId(id)) {
    throw new InvalidArgumentError(`unknown metric "${id}"; valid metrics: ${METRIC_IDS.join(', ')}`);
  }
  return METRICS[id];
}

/**
 * A comma-separated list of metric ids and groups ("ntk_trace,snip", "all",
 * "hnas", "hnas,synflow") as ids in the order given, without repeats.
 * Whitespace around items is ignored; an empty list or item, or an unknown
 * name, is an InvalidArgumentError naming what is valid.
 */
export function parseMetricList(list: string): MetricId[] {
  if (typeof list !== 'string') throw new InvalidArgumentError(`metric list must be a string, got ${typeof list}`);
  const items = list.split(',').map((s) => s.trim());
  if (items.length === 1 && items[0] === '') {
    throw new InvalidArgumentError(`empty metric list; give ids (${METRIC_IDS.join(', ')}) or a group (all, hnas)`);
  }
  const out = new Set<MetricId>();
  for (const item of items) {
    if (item === '') throw new InvalidArgumentError(`empty item in metric list "${list}"`);
    if (item === 'all' || item === 'hnas') {
      for (const id of METRIC_GROUPS[item]) out.add(id);
    } else if (isMetricId(item)) {
      out.add(item);
    } else {
      throw new InvalidArgumentError(
        `unknown metric "${item}" in "${list}"; valid metrics: ${METRIC_IDS.join(', ')}; groups: all, hnas`,
      );
    }
  }
  return [...out];
}
