// `otel-contracts stack up | down | status | provision`: the command line over the lifecycle API,
// with human-readable lines on stdout and exit codes.
import { provisionResolved, startResolved, statusResolved, stopResolved } from './lifecycle.ts';
import type { PartStatus } from './lifecycle.ts';
import type { StackInfo } from './lifecycle.ts';
import { rel, resolveOptions, StackError } from './parts.ts';
import type { Resolved, StackOptions } from './parts.ts';

/** What `otel-contracts stack` does: start, stop, report, or only install and build. */
export type StackAction = 'up' | 'down' | 'status' | 'provision';

function printParts(out: (line: string) => void, parts: PartStatus[]): void {
  for (const p of parts) {
    const state = p.running ? (p.ready ? `running (pid ${p.pid})` : `running (pid ${p.pid}), NOT READY`) : 'stopped';
    out(`${p.name.padEnd(11)} ${state}${p.detail ? `, ${p.detail}` : ''}${p.conflict ? ` - ${p.conflict}` : ''}`);
    if (p.running) for (const l of p.listen) out(`${''.padEnd(12)}${l}`);
  }
}

/** `status`: one line per process, its role, its address and its health. */
function printStatusLines(out: (line: string) => void, parts: PartStatus[]): void {
  const width = Math.max(...parts.map((p) => p.address.length));
  for (const p of parts) {
    const health = p.running ? `${p.ready ? 'healthy' : 'running, NOT HEALTHY'}${p.detail ? `, ${p.detail}` : ''} (pid ${p.pid})` : 'stopped';
    out(`${p.name.padEnd(11)} ${p.address.padEnd(width)}  ${health}${p.conflict ? ` - ${p.conflict}` : ''}`);
  }
}

function printUpHints(out: (line: string) => void, st: StackInfo): void {
  out(`push OTLP:   OTEL_EXPORTER_OTLP_ENDPOINT=${st.otlpHttpEndpoint}  (gRPC: ${st.otlpGrpcEndpoint})`);
  if (st.topology === 'scaled') {
    out(`query:       ${st.queryUrls.map((u) => `${u}/vmui`).join(', ')}  (one Prometheus datasource per shard; each sidecar on exactly one)`);
  } else {
    out(`query:       ${st.prometheusUrl}/graph`);
    out(`pushgateway: ${st.pushgatewayUrl}/metrics/job/<job>/instance_id/<id>`);
  }
  out('stop with:   otel-contracts stack down');
}

/**
 * `otel-contracts stack <action>`. `up` starts the topology `opts.topology` selects (default single-node);
 * `status` and `down` act on whichever topology is up. Exit codes: 0 ok; 1 failure (message names the part);
 * `status`: 0 when every part runs and is healthy, 3 otherwise.
 */
export async function runStackCommand(action: StackAction, opts: StackOptions = {}): Promise<number> {
  let r: Resolved;
  try {
    r = resolveOptions(opts);
  } catch (err) {
    process.stderr.write(`otel-contracts stack: ${(err as Error).message}\n`);
    return 1;
  }
  const { out } = r;
  try {
    switch (action) {
      case 'provision':
        return await provisionResolved(r);
      case 'up': {
        const st = await startResolved(r);
        out(`stack up, ${st.topology} topology (state, logs: ${rel(st.stateDir)}/)`);
        printParts(out, st.parts);
        out('');
        printUpHints(out, st);
        return 0;
      }
      case 'down': {
        const stopped = await stopResolved(r);
        out(stopped.length ? `stack down: stopped ${stopped.join(', ')}` : 'stack down: nothing was running');
        return 0;
      }
      case 'status': {
        const st = await statusResolved(r);
        printStatusLines(out, st.parts);
        return st.parts.every((p) => p.running && p.ready) ? 0 : 3;
      }
      default:
        process.stderr.write(`otel-contracts stack: unknown action '${String(action)}' (use up, down, status or provision)\n`);
        return 1;
    }
  } catch (err) {
    if (err instanceof StackError) {
      process.stderr.write(`otel-contracts stack ${action} failed: ${err.message}\n`);
    } else {
      r.log.error({ err }, `stack ${action} failed`);
      process.stderr.write(`otel-contracts stack ${action} failed: ${(err as Error).message}\n`);
    }
    return 1;
  }
}
