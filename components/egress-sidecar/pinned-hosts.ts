import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { HostPort } from './config.ts';
import { answerAddresses, buildQuery, type ResolvedAddress } from './dns-answers.ts';
import { parseQuery, MAX_UDP_RESPONSE_BYTES } from './dns-wire.ts';
import type { Forwarder } from './forwarder.ts';
import type { NftManager } from './nft.ts';
import type { PinnedName } from './policy.ts';

/**
 * The sidecar's own destinations, always let through whatever the policy says: its OTLP push endpoint
 * (upstream sidecar users were stuck on exactly this, OpenSandbox #1334/#1401/#1491/#1539). A name is
 * pinned in the DNS policy and kept resolved into the nftables allow set; an IP is accepted by a static
 * nftables rule on its port. The upstream resolvers are accepted by the nftables ruleset itself.
 */

/** The pinned destinations derived from the environment. */
export interface PinnedHosts {
  /** Names allowed before any rule, and kept resolved into the allow set. */
  readonly names: readonly PinnedName[];
  /** IP endpoints accepted by a static nftables rule. */
  readonly ipEndpoints: readonly HostPort[];
}

const OTLP_VARS = ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'] as const;

/**
 * The OTLP endpoints of `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` and `OTEL_EXPORTER_OTLP_ENDPOINT`.
 * Unparseable URLs are skipped here; the pipeline reports them.
 */
export function pinnedFromEnv(env: NodeJS.ProcessEnv): PinnedHosts {
  const names: PinnedName[] = [];
  const ipEndpoints: HostPort[] = [];
  for (const v of OTLP_VARS) {
    const raw = env[v]?.trim();
    if (!raw) continue;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    if (isIP(host) !== 0) ipEndpoints.push({ host, port });
    else names.push({ name: host, why: `OTLP endpoint (${v})` });
  }
  return { names, ipEndpoints };
}

/** Resolves `name` (A and AAAA) through the forwarder; failures yield no addresses. */
function resolveVia(forwarder: Forwarder, name: string, type: 'A' | 'AAAA'): Promise<ResolvedAddress[]> {
  return new Promise((resolve) => {
    const query = buildQuery(name, type, 0);
    const q = parseQuery(query);
    if (typeof q === 'string') return resolve([]);
    forwarder.forward(query, q, MAX_UDP_RESPONSE_BYTES, {
      answered: (response) => resolve(answerAddresses(response)),
      failed: () => resolve([]),
    });
  });
}

/**
 * Keeps the pinned names' addresses in the nftables allow set: resolves them now and every
 * `intervalMs` (timer unref'd) through the sidecar's own forwarder.
 * @returns `refresh` (resolves when one round is done) and `stop`.
 */
export function keepPinnedResolved(
  names: readonly PinnedName[],
  forwarder: Forwarder,
  nft: NftManager,
  logger: Logger,
  intervalMs = 30_000,
): { refresh(): Promise<void>; stop(): void } {
  const refresh = async (): Promise<void> => {
    for (const { name } of names) {
      const found = (await Promise.all([resolveVia(forwarder, name, 'A'), resolveVia(forwarder, name, 'AAAA')])).flat();
      if (found.length === 0) {
        logger.warn({ host: name }, 'pinned OTLP endpoint did not resolve; pushes to it may be dropped by nftables until it does');
        continue;
      }
      await nft.addResolved(found);
    }
  };
  const timer = names.length > 0 ? setInterval(() => void refresh(), intervalMs) : undefined;
  timer?.unref();
  return { refresh, stop: () => clearInterval(timer) };
}
