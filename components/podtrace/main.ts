import { startEbpfCollector, type EbpfCollector } from '../../collectors/ebpf/collector.ts';
import { checkPrerequisites, EbpfInputError, prereqOptionsFromEnv } from '../../collectors/ebpf/prereq.ts';
import { describeSelection } from '../../collectors/ebpf/program.ts';
import { libcPaths, resolveTarget, type TargetRequest } from '../../collectors/ebpf/target.ts';
import { ConfigError } from '../../instrumentation/config.ts';
import { createLogger, type Logger } from '../../instrumentation/logger.ts';
import type { Pipeline } from '../../instrumentation/pipeline.ts';
import { assertBindAllowed, NonLoopbackBindError } from '../../instrumentation/scrape/server.ts';
import { podtrace } from '../../semconv/generated/podtrace.ts';
import { self } from '../../semconv/generated/self.ts';
import { parseHostPort, type HostPort } from '../kit/host-port.ts';
import { startComponent, type ComponentStop } from '../kit/lifecycle.ts';
import { createComponentPipeline } from '../kit/pipeline.ts';
import { DEFAULT_GRACE_SECONDS, removeExitedGauges } from './exited-gauges.ts';

/**
 * `otel-contracts podtrace (--pid PID ... | --cgroup PATH | --comm NAME)`: the 16 podtrace families
 * (seed 003) of any process on the host, measured in the kernel by bpftrace (collectors/ebpf/), served
 * on `PODTRACE_METRICS_ADDR` (default 127.0.0.1:3000, upstream's) and pushed by OTLP as every component.
 */

/** Upstream's metrics address. */
export const DEFAULT_METRICS_ADDR = '127.0.0.1:3000';

/** Options of {@link runPodtrace}. */
export interface PodtraceOptions {
  readonly logger?: Logger;
  /**
   * SIGTERM/SIGINT: stop bpftrace, final push, exit 0; bpftrace dying for good (the target gone, so not
   * restarted): logged, final push, exit 1 (the CLI does; tests in-process do not).
   */
  readonly exitHandlers?: boolean;
  /** Interval of the kernel maps' print, ms (default 1000). */
  readonly printIntervalMs?: number;
  /** /proc (tests may point elsewhere). */
  readonly proc?: string;
  /** Backoff of bpftrace restarts, ms (default 1000 doubling to 30000). */
  readonly restartBackoffMs?: { readonly min: number; readonly max: number };
}

/** A running podtrace; `close()` stops bpftrace (its final maps recorded), then makes the pipeline's final push. */
export interface Podtrace extends ComponentStop {
  readonly pipeline: Pipeline;
  readonly collector: EbpfCollector;
  readonly scrapeUrl?: string;
}

/**
 * `PODTRACE_METRICS_ADDR` (default {@link DEFAULT_METRICS_ADDR}), parsed by the component kit: `HOST:PORT`
 * or `[V6]:PORT` with an IP literal or `localhost`; `:PORT` means every interface, as upstream's Go server
 * reads it, which the loopback guard refuses without `OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true`.
 * @throws HostPortError (a ConfigError) naming the variable.
 */
export function metricsAddressOf(env: NodeJS.ProcessEnv): HostPort {
  return parseHostPort(env.PODTRACE_METRICS_ADDR?.trim() || DEFAULT_METRICS_ADDR, 'PODTRACE_METRICS_ADDR', 'listen');
}

/**
 * `PODTRACE_EXITED_GRACE_SECONDS`: how long the latest-value gauges of a process name outlive its last
 * process (default {@link DEFAULT_GRACE_SECONDS}).
 * @throws EbpfInputError for a value that is not a number of seconds >= 0.
 */
export function graceSecondsOf(env: NodeJS.ProcessEnv): number {
  const raw = env.PODTRACE_EXITED_GRACE_SECONDS?.trim();
  if (!raw) return DEFAULT_GRACE_SECONDS;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new EbpfInputError(`PODTRACE_EXITED_GRACE_SECONDS="${raw}": expected a number of seconds >= 0, e.g. ${DEFAULT_GRACE_SECONDS}`);
  return n;
}

/**
 * Reads the configuration, checks the prerequisites (root, bpftrace, BTF, tracefs, which it mounts when it
 * can), resolves the target, starts the pipeline (the podtrace and process families) with every series
 * known at start at zero (`recordKnownSeries`, collectors/ebpf/record.ts), attaches bpftrace, and serves
 * the podtrace families. Start-up and stop follow the component kit (`startComponent`): a failure half-way
 * closes what was opened.
 *
 * The scrape address is `PODTRACE_METRICS_ADDR` unless `OTEL_EXPORTER_PROMETHEUS_HOST`/`_PORT` say
 * otherwise; a non-loopback address needs `OTEL_CONTRACTS_ALLOW_NON_LOOPBACK=true`, checked before
 * bpftrace starts.
 *
 * @throws HostPortError / ConfigError for a bad `PODTRACE_METRICS_ADDR` or `OTEL_*` value; NonLoopbackBindError
 *   for a refused address; EbpfInputError for a missing prerequisite or a bad target; Error when bpftrace
 *   fails to attach (its message included) or the metrics port cannot be opened.
 */
export async function runPodtrace(req: TargetRequest, env: NodeJS.ProcessEnv = process.env, opts: PodtraceOptions = {}): Promise<Podtrace> {
  const logger = opts.logger ?? createLogger('podtrace', env);
  const addr = metricsAddressOf(env);
  const graceMs = graceSecondsOf(env) * 1000;
  const pipeline = createComponentPipeline({ contracts: [podtrace], serviceName: 'podtrace', env, logger, defaults: { exporters: ['prometheus'], prometheusHost: addr.host, prometheusPort: addr.port } });
  const handle = await startComponent(pipeline, logger, opts.exitHandlers, async (cleanups) => {
    const { prometheus } = pipeline.config;
    if (pipeline.config.exporters.has('prometheus')) assertBindAllowed(prometheus.host, prometheus.allowNonLoopback, 'metrics (PODTRACE_METRICS_ADDR)');
    const prereq = checkPrerequisites(prereqOptionsFromEnv(env));
    if (prereq.mountedTracefs) logger.info({ tracefs: prereq.tracefs }, 'mounted tracefs');
    const target = resolveTarget(req, { ...(opts.proc ? { proc: opts.proc } : {}) });
    for (const note of target.notes) logger.info(note);
    // Exited processes' latest gauges go after the grace period; the collector records through recorders that note the names.
    const exited = removeExitedGauges(pipeline.recorders(podtrace), {
      pipeline,
      graceMs,
      ...(opts.proc ? { proc: opts.proc } : {}),
      onRemoved: (name) => logger.debug({ process_name: name }, 'removed the latest-value gauges of an exited process'),
    });
    cleanups.add(() => exited.stop());
    const rec = exited.recorders;
    const restartsTotal = pipeline.recorders(self).otel_contracts_tracer_restarts_total;
    const libcs = libcPaths(target.samplePids, opts.proc);
    if (libcs.length === 0) logger.warn('no libc found: resolver calls (getaddrinfo...) are not timed; plain UDP port-53 exchanges still are');

    const collector = await startEbpfCollector(rec, {
      selection: target.selection,
      bpftrace: prereq.bpftrace,
      libcPaths: libcs,
      cgroup: target.cgroup,
      // The series of the names known now start at zero before bpftrace attaches: the first scrape holds every family.
      knownProcessNames: target.knownProcessNames,
      logger,
      env,
      // bpftrace dying is logged, counted and restarted with backoff while the target lives.
      restart: {
        alive: target.alive,
        onRestart: () => restartsTotal.add(1),
        ...(opts.restartBackoffMs ? { minBackoffMs: opts.restartBackoffMs.min, maxBackoffMs: opts.restartBackoffMs.max } : {}),
      },
      ...(opts.printIntervalMs !== undefined ? { printIntervalMs: opts.printIntervalMs } : {}),
    });
    cleanups.add(() => collector.close());
    const started = await pipeline.start();
    logger.info(
      {
        target: describeSelection(target.selection),
        probes: collector.probes,
        bpftracePid: collector.pid,
        bpftrace: prereq.version,
        libc: libcs,
        knownProcessNames: target.knownProcessNames,
        metrics: started.scrapeUrl ?? 'off',
        push: started.pushUrl ?? 'off',
        source: collector.source,
      },
      `podtrace attached ${collector.probes} probes to ${describeSelection(target.selection)}; metrics ${started.scrapeUrl ?? 'off'}`,
    );
    return { pipeline, collector, ...(started.scrapeUrl ? { scrapeUrl: started.scrapeUrl } : {}) };
  });
  // Beyond the kit's lifecycle: bpftrace dying for good (the target gone) ends the command, with its final push.
  if (opts.exitHandlers) {
    void handle.collector.exited.then(async (e) => {
      if (e.expected) return;
      logger.error({ code: e.code, signal: e.signal, restarts: handle.collector.restarts }, 'bpftrace exited and the traced target is gone: stopping podtrace (final push, exit 1)');
      await handle.close().catch(() => undefined);
      process.exit(1);
    });
  }
  return handle;
}

/** Command-line flags of `otel-contracts podtrace`. */
export interface PodtraceFlags {
  readonly pid?: readonly string[];
  readonly cgroup?: string;
  readonly comm?: string;
}

/**
 * The `podtrace` command: exactly one of `--pid`, `--cgroup`, `--comm`. Runs until SIGTERM/SIGINT.
 * @returns undefined once running; 2 for bad input (a flag, `PODTRACE_METRICS_ADDR` or another variable, an
 *   address beyond loopback without the opt-in) or a missing prerequisite (message on stderr); 1 when
 *   bpftrace could not attach or the metrics port could not be opened.
 */
export async function runPodtraceCommand(flags: PodtraceFlags, env: NodeJS.ProcessEnv = process.env): Promise<number | undefined> {
  const given = [flags.pid?.length ? 'pid' : '', flags.cgroup !== undefined ? 'cgroup' : '', flags.comm !== undefined ? 'comm' : ''].filter(Boolean);
  if (given.length !== 1) {
    process.stderr.write(`otel-contracts podtrace: give exactly one of --pid PID..., --cgroup PATH, --comm NAME (got ${given.length ? given.map((g) => `--${g}`).join(', ') : 'none'})\n`);
    return 2;
  }
  const req: TargetRequest = flags.pid?.length ? { pids: flags.pid } : flags.cgroup !== undefined ? { cgroup: flags.cgroup } : { comm: flags.comm as string };
  try {
    await runPodtrace(req, env, { exitHandlers: true });
    return undefined;
  } catch (e) {
    const bad = e instanceof EbpfInputError || e instanceof ConfigError || e instanceof NonLoopbackBindError;
    process.stderr.write(`otel-contracts podtrace: ${(e as Error).message}\n`);
    return bad ? 2 : 1;
  }
}
