// The native otel-contracts stack: the ocb-built collector, Prometheus and Pushgateway as
// processes on loopback, driven by the same otel-config/ files that docker-compose.yml mounts; or,
// with `--topology scaled`, HAProxy, gateway and backend collectors, vmagent and VictoriaMetrics shards.
//
//   otel-contracts stack up [--topology scaled [--gateways 2] [--backends 2] [--shards 2]] | down | status | provision
//
// `up` starts what is not running yet, waits for each part to be ready and says where it
// listens; on any failure it stops the parts it started and names the part that failed.
// PIDs live in .stack/<part>.json so `down` (from any process) stops what `up` started.
// The programmatic API (startStack / stopStack / stackStatus / startPart / stopPart) is what
// the e2e harness uses.
//
// The pieces, in stack/: parts.ts (names, ports, options, part specs), topology.ts (the scaled
// layout: roles and ports), scaled-parts.ts (its part specs), haproxy-config.ts / haproxy-stats.ts
// (the ingress's configuration and health), topology-record.ts / topology-guard.ts (which topology
// a state directory holds), pid-files.ts (PID records and process ownership), readiness.ts (binary
// and port checks, readiness polling), lifecycle.ts (start / stop / status) and command.ts (the
// command line).
export { PART_NAMES, STACK_PORTS, StackError } from './stack/parts.ts';
export type { PartName, StackOptions } from './stack/parts.ts';
export { procStartTicks } from './stack/pid-files.ts';
export { tryListen } from './stack/readiness.ts';
export { provision, stackStatus, startPart, startStack, stopPart, stopStack } from './stack/lifecycle.ts';
export type { PartStatus, ProvisionPart, StackInfo } from './stack/lifecycle.ts';
export { SCALED_MAX_PER_TIER, SCALED_PORTS, TOPOLOGIES, ordinals, scaledLayout, scaledPartNames, scaledPorts } from './stack/topology.ts';
export type { RoleName, ScaledLayout, ScaledOptions, ScaledPartName, Topology } from './stack/topology.ts';
export { SHARD_BY_LABELS, VICTORIA_METRICS_VERSION } from './stack/scaled-parts.ts';
export { haproxyGatewaysUp } from './stack/haproxy-stats.ts';
export { runStackCommand } from './stack/command.ts';
export type { StackAction } from './stack/command.ts';
