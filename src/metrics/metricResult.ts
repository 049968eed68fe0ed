/**
 * Building MetricResults: a value (checked finite), or a typed failure.
 * Failures stay failures — a metric never reports a sentinel number.
 */
import { HnasError, InternalError } from '../errors.js';
import type { MetricId, MetricResult, ProbeData } from './types.js';

/** A finite value with optional extras; a NaN/±Inf value becomes an `ERR_HNAS_NON_FINITE` failure. */
export function metricValue(id: MetricId, value: number, extras?: Record<string, number | boolean>): MetricResult {
  if (!Number.isFinite(value)) {
    return { ok: false, error: { code: 'ERR_HNAS_NON_FINITE', message: `${id} is ${value}` } };
  }
  return extras === undefined ? { ok: true, value } : { ok: true, value, extras };
}

/** A thrown value as a MetricResult failure: HnasErrors keep their code, anything else is internal. */
export function metricFailure(error: unknown, context?: string): MetricResult & { ok: false } {
  const prefix = context ? `${context}: ` : '';
  if (error instanceof HnasError) return { ok: false, error: { code: error.code, message: prefix + error.message } };
  const message = error instanceof Error ? error.message : String(error);
  return { ok: false, error: { code: 'ERR_HNAS_INTERNAL', message: prefix + message } };
}

/** A ProbeData field a metric declared a need for; its absence is a probe bug. */
export function required<K extends keyof ProbeData>(data: ProbeData, key: K, id: MetricId): NonNullable<ProbeData[K]> {
  const v = data[key];
  if (v === undefined || v === null) throw new InternalError(`${id}: the probe did not provide "${String(key)}"`);
  return v as NonNullable<ProbeData[K]>;
}
