import type { HostPort } from '../kit/host-port.ts';
import type { Route } from './route-table.ts';

/**
 * Picks a route's backend for a new connection: round robin over the route's backends in file order,
 * skipping the unhealthy ones. Each route keeps its own position; a reload builds new routes, which
 * start again from their first backend.
 */
export class Balancer {
  private readonly next = new WeakMap<Route, number>();

  /**
   * @param healthy whether a backend takes new connections now.
   * @returns the backend, or undefined when none of the route's backends is healthy (`no_backend`).
   */
  pick(route: Route, healthy: (b: HostPort) => boolean): HostPort | undefined {
    const n = route.backends.length;
    const start = this.next.get(route) ?? 0;
    for (let i = 0; i < n; i++) {
      const at = (start + i) % n;
      const b = route.backends[at] as HostPort;
      if (healthy(b)) {
        this.next.set(route, (at + 1) % n);
        return b;
      }
    }
    return undefined;
  }
}
