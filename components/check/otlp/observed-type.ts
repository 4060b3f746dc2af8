import type { ObservedType } from '../model.ts';
import type { OtlpMetric } from './decode.ts';

/**
 * The Prometheus TYPE an OTLP metric is exposed as: monotonic sum -> counter, non-monotonic sum and
 * gauge -> gauge, explicit-bucket histogram -> histogram, summary -> summary. Exponential histograms
 * have no 0.0.4 form (`exponential_histogram`), and a metric without data is `none`.
 */
export function observedTypeOf(m: Pick<OtlpMetric, 'kind' | 'isMonotonic'>): ObservedType {
  switch (m.kind) {
    case 'sum':
      return m.isMonotonic ? 'counter' : 'gauge';
    case 'gauge':
      return 'gauge';
    case 'histogram':
      return 'histogram';
    case 'summary':
      return 'summary';
    case 'exponentialHistogram':
      return 'exponential_histogram';
    case 'none':
      return 'none';
  }
}
