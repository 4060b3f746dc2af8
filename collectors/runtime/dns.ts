import dns from 'node:dns';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pairRecorder, stopOnce } from '../safe.ts';
import type { Collector, PodtraceRecorders } from '../types.ts';
import { callbackIndex, patchMethod, type Restore } from './wrap.ts';

/** The query functions timed, wherever they exist (module, `Resolver.prototype`, `dns.promises`). */
const QUERY = /^(lookup|lookupService|reverse|resolve[A-Za-z0-9]*)$/;

/**
 * DNS latency (seed 003 "DNS Metrics"): times every `dns.lookup`, `dns.lookupService`, `dns.reverse` and
 * `dns.resolve*` call, in callback form (`node:dns`, and `dns.Resolver` instances) and promise form
 * (`dns.promises` = `node:dns/promises`, and its `Resolver`), into `podtrace_dns_latency_seconds_histogram`
 * and `podtrace_dns_latency_seconds_gauge` with `type="DNS"`. Failed queries (NXDOMAIN, timeout) are
 * timed too: their latency is real; a `lookup` of an IP literal is not (no query happens). Node has no DNS diagnostics channel, so the functions are wrapped.
 *
 * Both the module functions and the `Resolver.prototype` methods are wrapped because `dns.setServers()`
 * rebinds the module functions to fresh bound copies of the prototype methods; a call is timed once
 * either way. `net.connect` to a host name calls `dns.lookup` through the module object, so its
 * look-ups are timed as well.
 *
 * Call `module.syncBuiltinESMExports()` afterwards so that ESM named imports see the wrappers.
 */
export function startDnsCollector(rec: PodtraceRecorders, processName: () => string): Collector {
  // Recording never breaks the app's DNS call (pairRecorder never throws).
  const observe = pairRecorder(rec.podtrace_dns_latency_seconds_histogram, rec.podtrace_dns_latency_seconds_gauge, 'DNS', processName);
  const record = (t0: number) => observe((performance.now() - t0) / 1000);
  const restores: Restore[] = [];
  const patchAll = (target: object, promiseForm: boolean) => {
    for (const key of Object.getOwnPropertyNames(target)) {
      if (!QUERY.test(key)) continue;
      const skip = key === 'lookup' ? isIpLiteral : never;
      const r = patchMethod(target, key, promiseForm ? (orig) => timedPromise(orig, record, skip) : (orig) => timedCallback(orig, record, skip));
      if (r) restores.push(r);
    }
  };
  patchAll(dns.Resolver.prototype, false);
  patchAll(dns, false);
  patchAll(dns.promises.Resolver.prototype, true);
  patchAll(dns.promises, true);
  return {
    name: 'dns',
    source: 'wrapped node:dns',
    stop: stopOnce(() => {
      for (const r of restores.reverse()) r();
    }),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Fn = (...args: any[]) => any;
type Skip = (args: readonly unknown[]) => boolean;

/** `dns.lookup` of an IP literal answers without any query (dgram and net pass addresses through it): not timed. */
const isIpLiteral: Skip = (args) => typeof args[0] === 'string' && isIP(args[0]) !== 0;
const never: Skip = () => false;

function timedCallback(orig: Fn, record: (t0: number) => void, skip: Skip): Fn {
  return function (this: unknown, ...args: unknown[]) {
    const i = callbackIndex(args);
    if (i < 0 || skip(args)) return orig.apply(this, args);
    const cb = args[i] as Fn;
    const t0 = performance.now();
    args[i] = function (this: unknown, ...res: unknown[]) {
      record(t0);
      return cb.apply(this, res);
    };
    return orig.apply(this, args);
  };
}

function timedPromise(orig: Fn, record: (t0: number) => void, skip: Skip): Fn {
  return function (this: unknown, ...args: unknown[]) {
    if (skip(args)) return orig.apply(this, args);
    const t0 = performance.now();
    const p = orig.apply(this, args);
    if (!p || typeof (p as Promise<unknown>).then !== 'function') return p;
    // The derived promise is returned, so an unhandled rejection stays unhandled, as without us.
    return (p as Promise<unknown>).then(
      (v) => {
        record(t0);
        return v;
      },
      (e: unknown) => {
        record(t0);
        throw e;
      },
    );
  };
}
