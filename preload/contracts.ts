import { podtrace } from '../semconv/generated/podtrace.ts';
import { trc } from '../semconv/generated/trc.ts';
import { componentContracts, sliceByComponent } from '../semconv/index.ts';
import type { AppContract } from './options.ts';
import type { ContractSpec } from '../semconv/types.ts';

/** The trc families the preload records: seed 002 section A, "Availability and request metrics". */
export const TRC_HTTP_FAMILIES = ['trc_http_requests_total', 'trc_http_request_duration_seconds'] as const;

/**
 * trc reduced to its two HTTP server families. The preload's scrape shows only what it can record,
 * instead of 66 empty trc families; the type stays `typeof trc`, so the typed recorders still check names
 * and enum values (only these two exist at run time).
 */
export const trcHttp: typeof trc = { ...trc, families: trc.families.filter((f) => (TRC_HTTP_FAMILIES as readonly string[]).includes(f.name)) as unknown as typeof trc.families };

/** The contracts of the preload pipeline by default: all of podtrace (seed 003) and trc's HTTP families. */
export const preloadContracts = [podtrace, trcHttp] as const;

/**
 * The preload pipeline's contracts when the app records into `appContracts` itself: each whole, or only the
 * families of its named components (under its own id, so the typed recorders still apply), and the
 * defaults they do not already cover (trc's HTTP families stay; podtrace is never doubled).
 */
export function preloadContractsWith(appContracts: readonly AppContract[]): ContractSpec[] {
  const app = appContracts.map(({ id, components }): ContractSpec => {
    const contract = componentContracts[id] as ContractSpec;
    if (!components) return contract;
    return sliceByComponent(contract, components, (name) => id === 'trc' && (TRC_HTTP_FAMILIES as readonly string[]).includes(name));
  });
  return [...preloadContracts.filter((c) => !app.some((a) => a.id === c.id)), ...app];
}
