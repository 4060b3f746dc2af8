import { podtrace } from '../semconv/generated/podtrace.ts';
import { trc } from '../semconv/generated/trc.ts';
import { componentContracts, type ComponentContractId } from '../semconv/index.ts';
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
 * The preload pipeline's contracts when the app records into `appContracts` itself: those whole, and the
 * defaults they do not already cover (the whole trc replaces its HTTP subset; podtrace is never doubled).
 */
export function preloadContractsWith(appContracts: readonly ComponentContractId[]): ContractSpec[] {
  const app = appContracts.map((id) => componentContracts[id] as ContractSpec);
  return [...preloadContracts.filter((c) => !app.some((a) => a.id === c.id)), ...app];
}
