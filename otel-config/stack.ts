// The native otel-contracts stack: the ocb-built collector, Prometheus and Pushgateway as
// processes on loopback, driven by the same otel-config/ files that docker-compose.yml mounts.
//
//   otel-contracts stack up | down | status | provision
//
// `up` starts what is not running yet, waits for each part to be ready and says where it
// listens; on any failure it stops the parts it started and names the part that failed.
// PIDs live in .stack/<part>.json so `down` (from any process) stops what `up` started.
// The programmatic API (startStack / stopStack / stackStatus / startPart / stopPart) is what
// the e2e harness uses.
//
// The pieces, in stack/: parts.ts (names, ports, options, part specs), pid-files.ts (PID
// records and process ownership), readiness.ts (binary and port checks, readiness polling),
// lifecycle.ts (start / stop / status) and command.ts (the command line).
export { PART_NAMES, STACK_PORTS, StackError } from './stack/parts.ts';
export type { PartName, StackOptions } from './stack/parts.ts';
export { procStartTicks } from './stack/pid-files.ts';
export { tryListen } from './stack/readiness.ts';
export { provision, stackStatus, startPart, startStack, stopPart, stopStack } from './stack/lifecycle.ts';
export type { PartStatus, StackInfo } from './stack/lifecycle.ts';
export { runStackCommand } from './stack/command.ts';
export type { StackAction } from './stack/command.ts';
