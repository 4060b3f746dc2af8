import { connect, type Socket } from 'node:net';
import { formatHostPort, type HostPort } from '../kit/host-port.ts';
import type { HealthSettings } from './route-table.ts';

/**
 * Backend health gating (seed 002, section F, "Backend health gating"): every backend address named by
 * the routes is checked by a TCP connect every `interval_ms` (the connect must succeed within
 * `timeout_ms`, then it is closed at once). `unhealthy_after` failures in a row take a backend out of
 * rotation, `healthy_after` successes in a row bring it back. A backend starts healthy (as HAProxy's
 * servers start up) and is checked at once. One check per address, however many routes list it.
 * Checks are not client connections: they are never counted in `trc_edge_upstream_connect_failures_total`.
 */

/** One backend address's state. */
interface BackendState {
  readonly address: HostPort;
  healthy: boolean;
  /** Consecutive results against the current state (failures while healthy, successes while not). */
  streak: number;
  /** The check in flight, if any (a slow one is never doubled). */
  probe: Socket | undefined;
}

/** Health of every backend address the routes name. */
export class HealthChecker {
  private readonly states = new Map<string, BackendState>();
  private settings: HealthSettings;
  private timer: NodeJS.Timeout | undefined;
  private readonly onChange: (address: HostPort, healthy: boolean) => void;
  private stopped = false;

  /** @param onChange told of every change of a backend's state (to update the gauges and log it). */
  constructor(settings: HealthSettings, onChange: (address: HostPort, healthy: boolean) => void) {
    this.settings = settings;
    this.onChange = onChange;
  }

  /**
   * Checks exactly `addresses` from now on, with `settings`: a new address starts healthy and is checked
   * at once; one still listed keeps its state; one no longer listed is dropped (its check cut short).
   */
  update(addresses: readonly HostPort[], settings: HealthSettings): void {
    const wanted = new Map(addresses.map((a) => [formatHostPort(a), a]));
    for (const [key, s] of this.states) {
      if (wanted.has(key)) continue;
      s.probe?.destroy();
      this.states.delete(key);
    }
    const fresh: BackendState[] = [];
    for (const [key, address] of wanted) {
      if (this.states.has(key)) continue;
      const s: BackendState = { address, healthy: true, streak: 0, probe: undefined };
      this.states.set(key, s);
      fresh.push(s);
    }
    const restart = this.timer === undefined || settings.intervalMs !== this.settings.intervalMs;
    this.settings = settings;
    if (restart && !this.stopped) {
      clearInterval(this.timer);
      this.timer = setInterval(() => this.checkAll(), settings.intervalMs);
      this.timer.unref();
    }
    for (const s of fresh) this.check(s);
  }

  /** Whether `address` takes new connections (an address not checked here does not). */
  isHealthy(address: HostPort): boolean {
    return this.states.get(formatHostPort(address))?.healthy === true;
  }

  /** Stops every check. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    for (const s of this.states.values()) s.probe?.destroy();
  }

  private checkAll(): void {
    for (const s of this.states.values()) if (s.probe === undefined) this.check(s);
  }

  private check(s: BackendState): void {
    if (this.stopped) return;
    let settled = false;
    const probe = connect({ host: s.address.host, port: s.address.port });
    s.probe = probe;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      probe.destroy();
      if (s.probe === probe) s.probe = undefined;
      if (this.stopped || this.states.get(formatHostPort(s.address)) !== s) return;
      this.record(s, ok);
    };
    const timer = setTimeout(() => done(false), this.settings.timeoutMs);
    timer.unref();
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
    probe.once('close', () => done(false));
  }

  private record(s: BackendState, ok: boolean): void {
    if (ok === s.healthy) {
      s.streak = 0;
      return;
    }
    s.streak++;
    if (s.streak >= (s.healthy ? this.settings.unhealthyAfter : this.settings.healthyAfter)) {
      s.healthy = ok;
      s.streak = 0;
      this.onChange(s.address, ok);
    }
  }
}
