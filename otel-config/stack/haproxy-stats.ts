// What HAProxy's own health checks say about the gateways, read from its stats page as CSV.
import { HAPROXY_BACKENDS } from './haproxy-config.ts';

/** How many of the gateway servers HAProxy sees up, and their states by name. */
export interface GatewaysUp {
  readonly up: number;
  readonly total: number;
  /** Server name → HAProxy status (`UP`, `DOWN`, `UP 1/2`, `MAINT`, `no check`). */
  readonly states: Readonly<Record<string, string>>;
}

/**
 * Parses the stats CSV (`/stats;csv`) for the OTLP/HTTP gateway backend's servers.
 * @returns null when the CSV has no `status` column or no gateway server.
 */
export function parseGatewaysUp(csv: string): GatewaysUp | null {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.replace(/^#\s*/, '').split(',') ?? [];
  const px = header.indexOf('pxname');
  const sv = header.indexOf('svname');
  const status = header.indexOf('status');
  if (px < 0 || sv < 0 || status < 0) return null;
  const states: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const cells = line.split(',');
    const server = cells[sv] ?? '';
    if (cells[px] !== HAPROXY_BACKENDS.http || server === 'FRONTEND' || server === 'BACKEND') continue;
    states[server] = cells[status] ?? '';
  }
  const names = Object.keys(states);
  if (names.length === 0) return null;
  return { up: names.filter((n) => states[n]!.startsWith('UP')).length, total: names.length, states };
}

/** Reads HAProxy's stats at `monitorUrl` (`http://host:port`); null when it does not answer. */
export async function haproxyGatewaysUp(monitorUrl: string, timeoutMs = 1000): Promise<GatewaysUp | null> {
  try {
    const res = await fetch(`${monitorUrl}/stats;csv`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    return parseGatewaysUp(await res.text());
  } catch {
    return null;
  }
}
