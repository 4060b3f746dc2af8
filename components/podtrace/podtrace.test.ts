/**
 * `otel-contracts podtrace` against real processes, as root with bpftrace: a Python workload (no Node,
 * no preload) traced by --pid, and the families checked against what it did. Without root or bpftrace
 * the kernel tests are not run (the unit tests in collectors/ebpf still are); when bpftrace is there but
 * cannot attach, they fail with bpftrace's reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrapeUntil, total, find, type SampleLine } from '../../test/exposition.ts';
import { freePort } from '../../test/ports.ts';
import { pollUntil } from '../../test/poll.ts';
import { CLI, NODE_BIN, findProgram, runProcess, startProcess, stopAllProcesses, type TestProcess } from '../../test/processes.ts';

const isRoot = process.getuid?.() === 0;
const bpftrace = findProgram('bpftrace');

/**
 * The workload: a loopback TCP server, then on the trigger file: 10 × (4096-byte write + fsync), a read
 * back, getaddrinfo, one TCP exchange; then on each file TRIGGER.1, TRIGGER.2, ...: 10 × (4096-byte
 * write + fsync) more, printing `round N`.
 */
const WORKLOAD = String.raw`
import os, socket, sys, time, threading
trigger = sys.argv[1]
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(8)
port = srv.getsockname()[1]
def serve():
    while True:
        c, _ = srv.accept()
        got = 0
        while got < 1000:
            got += len(c.recv(65536))
        c.sendall(b'y' * 3000)
        c.close()
threading.Thread(target=serve, daemon=True).start()
print('ready', os.getpid(), flush=True)
while not os.path.exists(trigger):
    time.sleep(0.05)
path = trigger + '.data'
with open(path, 'wb') as f:
    for _ in range(10):
        f.write(b'a' * 4096)
        f.flush()
        os.fsync(f.fileno())
with open(path, 'rb') as f:
    got = len(f.read())
socket.getaddrinfo('localhost', 80)
c = socket.create_connection(('127.0.0.1', port))
c.sendall(b'x' * 1000)
n = 0
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d)
c.close()
print('done', got, n, flush=True)
i = 1
deadline = time.time() + 600
while time.time() < deadline:
    if os.path.exists('%s.%d' % (trigger, i)):
        with open(path, 'ab') as f:
            for _ in range(10):
                f.write(b'a' * 4096)
                f.flush()
                os.fsync(f.fileno())
        print('round', i, flush=True)
        i += 1
    time.sleep(0.05)
`;

function podtrace(args: readonly string[], env: Record<string, string> = {}): TestProcess {
  return startProcess('podtrace', NODE_BIN, [CLI, 'podtrace', ...args], { OTEL_CONTRACTS_LOG_LEVEL: 'info', ...env });
}

describe('otel-contracts podtrace: bad input (any user)', () => {
  afterAll(() => stopAllProcesses());

  it('no target, a pid that does not exist, a path that is not a cgroup: exit 2 naming what to do', async () => {
    const none = await runProcess('podtrace', NODE_BIN, [CLI, 'podtrace'], {}, { timeoutMs: 30_000 });
    expect(none.code, none.describe).toBe(2);
    expect(none.stderr).toMatch(/exactly one of --pid/);
    const dir = mkdtempSync(join(tmpdir(), 'podtrace-notcg-'));
    try {
      const cases: { args: string[]; re: RegExp }[] = [
        // Prerequisites are checked first: without root the answer is that one.
        { args: ['--pid', '999999999'], re: isRoot ? /--pid 999999999: no such process.*pgrep/ : /must run as root/ },
        { args: ['--cgroup', dir], re: isRoot ? /not a cgroup directory \(no cgroup.procs there\)/ : /must run as root/ },
        { args: ['--pid', '1', '--comm', 'x'], re: /exactly one of/ },
      ];
      for (const { args, re } of cases) {
        const r = await runProcess('podtrace', NODE_BIN, [CLI, 'podtrace', ...args], {}, { timeoutMs: 30_000 });
        expect(r.code, r.describe).toBe(2);
        expect(r.stderr, r.describe).toMatch(re);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(isRoot && bpftrace !== undefined)('otel-contracts podtrace --pid on a Python workload (root, bpftrace)', () => {
  let dir: string;
  let work: TestProcess;
  let tracer: TestProcess;
  let url: string;
  let samples: SampleLine[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'podtrace-'));
    const script = join(dir, 'work.py');
    writeFileSync(script, WORKLOAD);
    work = startProcess('python workload', 'python3', [script, join(dir, 'go')]);
    const ready = await work.waitForLine(/^ready (\d+)/);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/metrics`;
    tracer = podtrace(['--pid', String(ready[1])], { PODTRACE_METRICS_ADDR: `127.0.0.1:${port}` });
    // bpftrace compiles and attaches in a few seconds; its failure (e.g. no tracepoint) ends the process with its message.
    await tracer.waitForLine(/podtrace attached \d+ probes/, { stream: 'stderr', timeoutMs: 90_000 });
    writeFileSync(join(dir, 'go'), '');
    await work.waitForLine(/^done 40960 3000$/);
    samples = await scrapeUntil(
      url,
      'the workload in the podtrace families',
      (s) =>
        total(s, 'podtrace_filesystem_bytes_total', { operation: 'write', process_name: 'python3' }) >= 40960 &&
        total(s, 'podtrace_network_bytes_total', { direction: 'recv', process_name: 'python3' }) >= 4000 &&
        total(s, 'podtrace_dns_latency_seconds_histogram_count', { process_name: 'python3' }) >= 1 &&
        total(s, 'podtrace_latency_seconds_count', { process_name: 'python3' }) >= 1,
      { timeoutMs: 20_000, intervalMs: 500, describe: (s) => s.filter((x) => !x.name.endsWith('_bucket')).map((x) => `${x.name}${JSON.stringify(x.labels)} ${x.value}`).join('\n') },
    );
  }, 150_000);

  afterAll(async () => {
    await stopAllProcesses();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const py = { process_name: 'python3' };

  it('filesystem: bytes written equal what the workload wrote; reads include the read-back; latency by type', () => {
    expect(total(samples, 'podtrace_filesystem_bytes_total', { ...py, type: 'FS', operation: 'write' })).toBe(40960);
    expect(total(samples, 'podtrace_filesystem_bytes_total', { ...py, operation: 'read' })).toBeGreaterThanOrEqual(40960);
    for (const type of ['read', 'write', 'fsync']) {
      expect(find(samples, 'podtrace_fs_latency_seconds_gauge', { ...py, type }), type).toHaveLength(1);
    }
    // 10 writes + 10 fsyncs + at least one read, all in the FS histogram; its buckets are podtrace's.
    expect(total(samples, 'podtrace_fs_latency_seconds_histogram_count', { ...py, type: 'FS' })).toBeGreaterThanOrEqual(21);
    const les = find(samples, 'podtrace_fs_latency_seconds_histogram_bucket', py).map((s) => s.labels.le);
    expect(les.slice(0, 3)).toEqual(['0.0001', '0.0002', '0.0004']);
    expect(les.at(-1)).toBe('+Inf');
  });

  it('TCP: a connect latency sample, RTT samples, and the bytes both ends of the loopback exchange moved', () => {
    expect(total(samples, 'podtrace_latency_seconds_count', { ...py, type: 'NET' })).toBe(1);
    expect(find(samples, 'podtrace_latency_latest_seconds', py)[0]?.value).toBeGreaterThan(0);
    expect(total(samples, 'podtrace_rtt_seconds_count', { ...py, type: 'NET' })).toBeGreaterThanOrEqual(1);
    expect(find(samples, 'podtrace_rtt_latest_seconds', py)).toHaveLength(1);
    // The workload is both client and server: 1000 + 3000 bytes each way.
    expect(total(samples, 'podtrace_network_bytes_total', { ...py, type: 'NET', direction: 'send' })).toBe(4000);
    expect(total(samples, 'podtrace_network_bytes_total', { ...py, type: 'NET', direction: 'recv' })).toBe(4000);
  });

  it('DNS: getaddrinfo timed by uprobe', () => {
    // getaddrinfo('localhost') and create_connection's own getaddrinfo('127.0.0.1').
    expect(total(samples, 'podtrace_dns_latency_seconds_histogram_count', { ...py, type: 'DNS' })).toBeGreaterThanOrEqual(2);
    expect(find(samples, 'podtrace_dns_latency_seconds_gauge', py)[0]?.value).toBeGreaterThan(0);
  });

  it('CPU block time and the cgroup resource usage are there', () => {
    expect(total(samples, 'podtrace_cpu_block_seconds_histogram_count', { ...py, type: 'CPU' })).toBeGreaterThan(0);
    expect(find(samples, 'podtrace_resource_usage_bytes', { resource_type: 'memory' }).length).toBe(1);
  });

  it('otel-contracts check --contract podtrace passes on the served exposition', async () => {
    const r = await runProcess('check', NODE_BIN, [CLI, 'check', '--contract', 'podtrace', url], {}, { timeoutMs: 30_000 });
    expect(r.code, r.describe).toBe(0);
  });

  it('SIGTERM stops bpftrace (its process group) and exits 0', async () => {
    const bpftracePid = Number(/"bpftracePid":(\d+)/.exec(tracer.stderr())?.[1]);
    expect(bpftracePid).toBeGreaterThan(0);
    const exit = await tracer.stop('SIGTERM', 20_000);
    expect(exit, tracer.describe()).toEqual({ code: 0, signal: null });
    await pollUntil(`bpftrace ${bpftracePid} gone`, async () => existsSync(`/proc/${bpftracePid}`), (alive) => !alive, { timeoutMs: 10_000, intervalMs: 100 });
  }, 40_000);

  it('bpftrace dying mid-run is logged, counted and restarted; the families keep growing', async () => {
    const port = await freePort();
    const turl = `http://127.0.0.1:${port}/metrics`;
    const t = podtrace(['--pid', String(work.pid)], { PODTRACE_METRICS_ADDR: `127.0.0.1:${port}` });
    await t.waitForLine(/podtrace attached \d+ probes/, { stream: 'stderr', timeoutMs: 90_000 });
    const first = Number(/"bpftracePid":(\d+)/.exec(t.stderr())?.[1]);
    expect(first).toBeGreaterThan(0);
    const written = (s: SampleLine[]) => total(s, 'podtrace_filesystem_bytes_total', { ...py, type: 'FS', operation: 'write' });
    writeFileSync(join(dir, 'go.1'), '');
    await work.waitForLine(/^round 1$/);
    await scrapeUntil(turl, 'round 1 written', (s) => written(s) >= 40960, { timeoutMs: 20_000, intervalMs: 250 });

    process.kill(first, 'SIGKILL');
    const line = await t.waitForLine(/"bpftracePid":(\d+).*bpftrace restarted/, { stream: 'stderr', timeoutMs: 90_000 });
    const second = Number(line[1]);
    expect(second, t.describe()).toBeGreaterThan(0);
    expect(second).not.toBe(first);
    expect(existsSync(`/proc/${second}`), t.describe()).toBe(true);
    expect(t.stderr()).toMatch(/bpftrace exited unexpectedly: restarting it in 1000 ms/);
    expect(t.exitInfo()).toBeNull();

    writeFileSync(join(dir, 'go.2'), '');
    await work.waitForLine(/^round 2$/);
    const after = await scrapeUntil(turl, 'round 2 written through the new bpftrace, and the restart counted', (s) => written(s) >= 81920 && total(s, 'otel_contracts_tracer_restarts_total') >= 1, {
      timeoutMs: 20_000,
      intervalMs: 250,
      describe: (s) => `written ${written(s)}, restarts ${total(s, 'otel_contracts_tracer_restarts_total')}\n${t.describe()}`,
    });
    expect(written(after)).toBe(81920);
    expect(total(after, 'otel_contracts_tracer_restarts_total')).toBe(1);

    const exit = await t.stop('SIGTERM', 20_000);
    expect(exit, t.describe()).toEqual({ code: 0, signal: null });
    await pollUntil(`bpftrace ${second} gone`, async () => existsSync(`/proc/${second}`), (alive) => !alive, { timeoutMs: 10_000, intervalMs: 100 });
  }, 180_000);

  it('bpftrace dying after the traced process is gone: logged, not restarted, exit 1', async () => {
    const sleeper = startProcess('sleep', 'sleep', ['600']);
    const port = await freePort();
    const t = podtrace(['--pid', String(sleeper.pid)], { PODTRACE_METRICS_ADDR: `127.0.0.1:${port}` });
    await t.waitForLine(/podtrace attached \d+ probes/, { stream: 'stderr', timeoutMs: 90_000 });
    const bpftracePid = Number(/"bpftracePid":(\d+)/.exec(t.stderr())?.[1]);
    await sleeper.stop('SIGKILL', 10_000);
    process.kill(bpftracePid, 'SIGKILL');
    const exit = await pollUntil('podtrace to exit after bpftrace died with its target gone', async () => t.exitInfo(), (e) => e !== null, { timeoutMs: 30_000, intervalMs: 100 });
    expect(exit?.code, t.describe()).toBe(1);
    expect(t.stderr()).toMatch(/the traced target is gone: not restarting/);
    expect(t.stderr()).not.toMatch(/bpftrace restarted/);
  }, 120_000);

  it('missing prerequisites: exit 2 naming the missing piece', async () => {
    for (const [env, re] of [
      [{ OTEL_CONTRACTS_BPFTRACE: '/nonexistent/bpftrace' }, /bpftrace not found.*apt-get install -y bpftrace/],
      [{ OTEL_CONTRACTS_BTF: '/nonexistent/vmlinux' }, /no kernel BTF at \/nonexistent\/vmlinux/],
      [{ OTEL_CONTRACTS_TRACEFS: '/nonexistent/tracing' }, /tracefs is not mounted at \/nonexistent\/tracing and mounting it failed/],
    ] as const) {
      const r = await runProcess('podtrace', NODE_BIN, [CLI, 'podtrace', '--pid', String(work.pid)], env, { timeoutMs: 30_000 });
      expect(r.code, r.describe).toBe(2);
      expect(r.stderr, r.describe).toMatch(re);
    }
  }, 60_000);
});

/**
 * Where this machine lets a test make a cgroup: the v2 hierarchy (`/sys/fs/cgroup` itself, or
 * `/sys/fs/cgroup/unified` on hybrid hosts), else v1's memory controller (see collectors/ebpf/target.ts).
 */
function cgroupParent(): string | undefined {
  const CGROUP2_SUPER_MAGIC = 0x63677270;
  for (const dir of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    try {
      if (statfsSync(dir).type === CGROUP2_SUPER_MAGIC && existsSync(join(dir, 'cgroup.procs'))) return dir;
    } catch {
      // not there
    }
  }
  return existsSync('/sys/fs/cgroup/memory/cgroup.procs') ? '/sys/fs/cgroup/memory' : undefined;
}

describe.runIf(isRoot && bpftrace !== undefined && cgroupParent() !== undefined)('otel-contracts podtrace --cgroup on a Python workload in a fresh cgroup (root, bpftrace)', () => {
  let dir: string;
  let cg: string;
  let samples: SampleLine[];
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'podtrace-cg-'));
    cg = join(cgroupParent() as string, `otel-contracts-podtrace-test-${process.pid}`);
    mkdirSync(cg);
    const script = join(dir, 'work.py');
    writeFileSync(script, WORKLOAD);
    // The shell moves itself into the cgroup, then becomes the workload: it runs there from its first instruction.
    const work = startProcess('python workload (cgroup)', 'sh', ['-c', 'echo $$ > "$1/cgroup.procs" && exec python3 "$2" "$3"', 'sh', cg, script, join(dir, 'go')]);
    const ready = await work.waitForLine(/^ready (\d+)/);
    expect(readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n')).toContain(ready[1]);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/metrics`;
    const tracer = podtrace(['--cgroup', cg], { PODTRACE_METRICS_ADDR: `127.0.0.1:${port}` });
    await tracer.waitForLine(/podtrace attached \d+ probes/, { stream: 'stderr', timeoutMs: 90_000 });
    writeFileSync(join(dir, 'go'), '');
    await work.waitForLine(/^done 40960 3000$/);
    samples = await scrapeUntil(
      url,
      'the cgroup workload in the podtrace families',
      (s) =>
        total(s, 'podtrace_filesystem_bytes_total', { operation: 'write', process_name: 'python3' }) >= 40960 &&
        total(s, 'podtrace_network_bytes_total', { direction: 'recv', process_name: 'python3' }) >= 4000,
      { timeoutMs: 20_000, intervalMs: 500, describe: (s) => `${s.filter((x) => x.name.includes('bytes_total')).map((x) => `${x.name}${JSON.stringify(x.labels)} ${x.value}`).join('\n')}\n${tracer.describe()}` },
    );
  }, 150_000);

  afterAll(async () => {
    await stopAllProcesses();
    if (cg && existsSync(cg)) {
      // A cgroup can be removed once its last process is gone.
      await pollUntil(`${cg} empty`, async () => readFileSync(join(cg, 'cgroup.procs'), 'utf8').trim(), (procs) => procs === '', { timeoutMs: 10_000, intervalMs: 100 });
      rmdirSync(cg);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('file-write and TCP bytes of the processes in the cgroup arrive as with --pid', () => {
    const py = { process_name: 'python3' };
    expect(total(samples, 'podtrace_filesystem_bytes_total', { ...py, type: 'FS', operation: 'write' })).toBe(40960);
    expect(total(samples, 'podtrace_network_bytes_total', { ...py, type: 'NET', direction: 'send' })).toBe(4000);
    expect(total(samples, 'podtrace_network_bytes_total', { ...py, type: 'NET', direction: 'recv' })).toBe(4000);
    expect(total(samples, 'podtrace_fs_latency_seconds_histogram_count', { ...py, type: 'FS' })).toBeGreaterThanOrEqual(21);
  });
});

it('python3 is there for the kernel tests', () => {
  if (isRoot && bpftrace) expect(spawnSync('python3', ['--version']).status).toBe(0);
});
