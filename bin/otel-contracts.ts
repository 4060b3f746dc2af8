#!/usr/bin/env node
/**
 * otel-contracts command line: `sample`, `check`, `stack`, and the components `egress-sidecar`, `ops-proxy`,
 * `podtrace`, `masque-vpn` and `trc-edge`.
 * Exit codes: 0 ok; 1 violations or failure; 2 bad input or unreadable target.
 */
import { Command, Option } from 'commander';
import { selectContracts } from '../semconv/index.ts';
import { runSample } from '../components/sample/sample.ts';
import { runStackCommand } from '../otel-config/stack.ts';
import { runCheckCommand } from '../components/check/command.ts';
import { TRC_COMPONENT_NAMES } from '../components/check/components.ts';
import { runEgressSidecar } from '../components/egress-sidecar/main.ts';
import { runPodtraceCommand } from '../components/podtrace/main.ts';
import { runOpsProxy } from '../components/ops-proxy/main.ts';
import { runMasqueVpnCli } from '../components/masque-vpn/main.ts';
import { runTrcEdge } from '../components/trc-edge/main.ts';
import { runTrcAgent } from '../components/trc-agent/main.ts';

const CONTRACT_CHOICES = ['egress', 'ops-proxy', 'trc', 'podtrace', 'masque-vpn', 'all'];

const program = new Command('otel-contracts')
  .description('Documented Prometheus metric contracts, kept exactly with OpenTelemetry')
  .showHelpAfterError();

program
  .command('sample')
  .description('serve every family of the chosen contracts with plausible series (scrape and/or OTLP push)')
  .addOption(new Option('--contract <id>', 'contract to serve').choices(CONTRACT_CHOICES).default('all'))
  .option('--listen <host:port>', 'scrape address (default 127.0.0.1:9464, or OTEL_EXPORTER_PROMETHEUS_HOST/PORT)')
  .option('--allow-non-loopback', 'allow a non-loopback --listen address')
  .action(async (opts: { contract: string; listen?: string; allowNonLoopback?: boolean }) => {
    await runSample({ contracts: selectContracts(opts.contract), ...(opts.listen ? { listen: opts.listen } : {}), allowNonLoopback: Boolean(opts.allowNonLoopback), exitHandlers: true });
  });

program
  .command('egress-sidecar')
  .description('the egress sidecar: DNS proxy with policy (127.0.0.1:15353), policy API and /metrics (127.0.0.1:18080); same as npm start')
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .action(async (_opts: unknown, cmd: Command) => {
    await runEgressSidecar(cmd.args, process.env, { exitHandlers: true });
  });

program
  .command('ops-proxy')
  .description('the ops proxy: reverse tunnel routed by Host/SNI/TCP port (--control --http [--https] [--tcp NAME=HOST:PORT] and/or --connect --register NAME=HOST:PORT), /metrics on 127.0.0.1:18090; OPS_PROXY_TOKEN required')
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .action(async (_opts: unknown, cmd: Command) => {
    await runOpsProxy(cmd.args, process.env, { exitHandlers: true });
  });

program
  .command('masque-vpn')
  .description('MASQUE CONNECT-IP (RFC 9484) over HTTP/2 + mTLS into a TUN (root): `server --listen --pool --tun --cert --key --ca [--metrics 127.0.0.1:8080]` or `client --server https://HOST:PORT --tun --cert --key --ca`')
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .action(async (_opts: unknown, cmd: Command) => {
    await runMasqueVpnCli(cmd.args);
  });

program
  .command('trc-agent')
  .description('trc node-agent host exporter: [--mount PATH ...] [--volume-pool PATH] [--cache oci|rootdisks|tmp=DIR ...] [--wg-interface NAME ...] [--disk-pressure-free-pct N], /metrics on 127.0.0.1:18097')
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .action(async (_opts: unknown, cmd: Command) => {
    await runTrcAgent(cmd.args, process.env, { exitHandlers: true });
  });

program
  .command('trc-edge')
  .description('the trc edge ingress: TLS by SNI (passthrough), HTTP by Host, TCP to listeners_default, PROXY v2, live route reloads (SIGHUP, file changes) and health checks (--routes FILE [--listen [tls=|http=|tcp=]HOST:PORT ...]), /metrics on 127.0.0.1:18100')
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .action(async (_opts: unknown, cmd: Command) => {
    await runTrcEdge(cmd.args, process.env, { exitHandlers: true });
  });

program
  .command('check')
  .argument('[target]', 'a /metrics URL, an exposition file, or - for stdin')
  .description('lint a /metrics URL, an exposition file (- for stdin) or OTLP pushes against the contracts; exit 0 clean, 1 violations, 2 unreadable')
  .addOption(new Option('--contract <id>', 'contract to check against').choices(CONTRACT_CHOICES).default('all'))
  .addOption(new Option('--component <name>', 'with --contract trc: the trc component audited; only its families are required').choices(TRC_COMPONENT_NAMES))
  .option('--allow-unobserved', 'let required families that were not observed pass (listed as allowed): drift only, for a short or quiet run')
  .option('--json', 'print the result as one JSON document')
  .option('--otlp-listen <host:port>', 'receive OTLP/HTTP pushes here (loopback) instead of reading a target')
  .option('--duration <s>', 'seconds to receive OTLP pushes (default 10)')
  .option('--timeout <s>', 'seconds allowed to fetch a URL target (default 10)')
  .action(async (target: string | undefined, opts: { contract: string; component?: string; allowUnobserved?: boolean; json?: boolean; otlpListen?: string; duration?: string; timeout?: string }) => {
    process.exitCode = await runCheckCommand(target, opts);
  });

program
  .command('stack')
  .description('run the local stack natively on loopback: OTel Collector (4317/4318), Prometheus (9090), Pushgateway (9091); or --topology scaled: HAProxy (4317/4318), gateway and backend collectors, vmagent, VictoriaMetrics shards (8428, 8438, ...)')
  .argument('<action>', 'up | down | status | provision')
  .option('--fresh', 'start Prometheus (or the shards and vmagent queue) with an empty data directory')
  .addOption(new Option('--topology <name>', 'up: single-node (default) or scaled; status and down act on whichever is up').choices(['single', 'scaled']))
  .option('--gateways <n>', 'scaled: gateway collectors behind HAProxy (1-9, default 2)')
  .option('--backends <n>', 'scaled: backend collectors the gateways balance over (1-9, default 2)')
  .option('--shards <n>', 'scaled: VictoriaMetrics shards behind vmagent (1-9, default 2)')
  .action(async (action: string, opts: { fresh?: boolean; topology?: 'single' | 'scaled'; gateways?: string; backends?: string; shards?: string }) => {
    if (!['up', 'down', 'status', 'provision'].includes(action)) throw new Error(`stack ${action}: expected up, down, status or provision`);
    const count = (v: string | undefined) => (v === undefined ? undefined : Number(v));
    const scaled = { gateways: count(opts.gateways), backends: count(opts.backends), shards: count(opts.shards) };
    if (!opts.topology && Object.values(scaled).some((v) => v !== undefined)) throw new Error('stack: --gateways, --backends and --shards go with --topology scaled');
    process.exitCode = await runStackCommand(action as 'up' | 'down' | 'status' | 'provision', { fresh: Boolean(opts.fresh), ...(opts.topology ? { topology: opts.topology, scaled } : {}) });
  });

program
  .command('podtrace')
  .description('trace any processes by eBPF (bpftrace, as root) and serve the 16 podtrace families on PODTRACE_METRICS_ADDR (127.0.0.1:3000)')
  .option('--pid <pid...>', 'these processes and their descendants')
  .option('--cgroup <path>', 'every process in this cgroup directory')
  .option('--comm <name>', 'every process with this command name')
  .action(async (opts: { pid?: string[]; cgroup?: string; comm?: string }) => {
    const code = await runPodtraceCommand(opts);
    if (code !== undefined) process.exit(code);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`otel-contracts: ${(err as Error).message}`);
  process.exit(2);
});
