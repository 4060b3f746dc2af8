import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseExposition, type SampleLine } from '../../../test/exposition.ts';

/**
 * Network namespaces for the privileged test and the benchmark: names unique per run (`mq<role>-<pid>`),
 * leftovers of crashed runs (whose pid is gone) removed first, veth pairs with test addresses, commands
 * run inside a namespace, and a scrape of a /metrics that listens on a namespace's loopback.
 */

const run = promisify(execFile);

/** Runs `cmd args` inside namespace `ns` (15 s bound); returns stdout. @throws Error with stderr. */
export async function inNs(ns: string, cmd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** Deletes namespaces named `<prefix>*-<pid>` whose pid is no longer running (a crashed run's). */
export async function removeStaleNamespaces(prefix: string): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${prefix}[a-z0-9]*-(\\d+)$`).exec(name);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch {
      alive = false;
    }
    if (!alive) await run('ip', ['netns', 'del', name]).catch(() => undefined);
  }
}

/** A set of namespaces created by one test run. */
export class Namespaces {
  private readonly created: string[] = [];
  readonly prefix: string;
  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** Creates namespace `<prefix><role>-<pid>` with loopback up; returns its name. */
  async add(role: string): Promise<string> {
    const name = `${this.prefix}${role}-${process.pid}`;
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
    await run('ip', ['netns', 'add', name]);
    this.created.push(name);
    await inNs(name, 'ip', 'link', 'set', 'lo', 'up');
    return name;
  }

  /** Joins `a` and `b` with a veth pair `ifA`/`ifB` carrying `addrA`/`addrB` (CIDR). */
  async link(a: string, ifA: string, addrA: string, b: string, ifB: string, addrB: string): Promise<void> {
    await inNs(a, 'ip', 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', b);
    await inNs(a, 'ip', 'addr', 'add', addrA, 'dev', ifA);
    await inNs(b, 'ip', 'addr', 'add', addrB, 'dev', ifB);
    await inNs(a, 'ip', 'link', 'set', ifA, 'up');
    await inNs(b, 'ip', 'link', 'set', ifB, 'up');
  }

  /** Deletes every namespace this set created (their interfaces go with them). */
  async removeAll(): Promise<void> {
    for (const n of this.created.splice(0)) await run('ip', ['netns', 'del', n]).catch(() => undefined);
  }
}

/** GETs `url` with curl inside `ns` and parses the exposition strictly. */
export async function scrapeInNs(ns: string, url: string): Promise<{ text: string; samples: SampleLine[] }> {
  const text = await inNs(ns, 'curl', '-sf', '--max-time', '10', url);
  return { text, samples: parseExposition(text) };
}
