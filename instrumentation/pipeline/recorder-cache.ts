import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { ContractSpec } from '../../semconv/types.ts';
import { createRecorders, type BegunSeries, type DropSink, type Recorders } from '../recorders.ts';
import { meterNameOf } from '../views.ts';
import type { InstanceLabelsByContract } from './resource.ts';
import type { SeriesMatcher } from '../views.ts';

/** Options of {@link createRecorderCache}. */
export interface RecorderCacheOptions {
  /** The pipeline's contracts; asking for any other is an error. */
  readonly contracts: readonly ContractSpec[];
  readonly meterProvider: MeterProvider;
  /** Put on every series of the contract (its instance labels). */
  readonly instanceLabels: InstanceLabelsByContract;
  readonly onDrop: DropSink;
  /**
   * Told each new contract's `flush`, which the readers must run before every collection, and its
   * `forget`, which removes series from its recorders (see `createRecorders`).
   */
  readonly onCreated: (created: { flush: () => void; forget: (match: SeriesMatcher) => void; begun: () => BegunSeries[] }, meterName: string) => void;
}

/**
 * Typed recorders per contract, created on first request (on the contract's own meter, see `meterNameOf`)
 * and returned as the same object afterwards.
 *
 * @returns a lookup that throws Error for a contract the pipeline was not built with.
 */
export function createRecorderCache(opts: RecorderCacheOptions): <C extends ContractSpec>(contract: C) => Recorders<C> {
  const { contracts, meterProvider, instanceLabels, onDrop, onCreated } = opts;
  const cache = new Map<string, unknown>();
  return <C extends ContractSpec>(contract: C): Recorders<C> => {
    const known = contracts.find((c) => c.id === contract.id);
    if (!known) throw new Error(`contract "${contract.id}" is not part of this pipeline (built with ${contracts.map((c) => c.id).join(', ')})`);
    let r = cache.get(contract.id) as Recorders<C> | undefined;
    if (!r) {
      // The pipeline's own copy of the contract: a caller may hold a subset of it under the same id (the
      // preload's trc HTTP families) or another module's copy (an app beside the bundled preload).
      const meterName = meterNameOf(known);
      const created = createRecorders(known, meterProvider.getMeter(meterName), instanceLabels.get(known.id) ?? {}, onDrop);
      onCreated(created, meterName);
      r = created.recorders as Recorders<C>;
      cache.set(contract.id, r);
    }
    return r;
  };
}
