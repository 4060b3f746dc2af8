import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { addresses, query, rcodeName, udpExchange } from './dns-client.ts';

/**
 * A one-shot client run inside a network namespace (`ip netns exec NS node ns-client.ts ...`), where the
 * test process itself cannot reach: prints one JSON line and exits.
 *
 *   query PORT NAME [TYPE]     → {"rcode","answers":[...],"tc"} (or {"error"})
 *   http METHOD URL [BODY]     → {"status","body"}
 *   connect HOST PORT MS       → {"outcome": "connected" | "refused" | "timeout" | "error:<code>"}
 */

async function main(argv: string[]): Promise<unknown> {
  const [cmd, ...rest] = argv;
  if (cmd === 'query') {
    const [port, name, type] = rest;
    const raw = await udpExchange(Number(port), query(name as string, 4321, (type ?? 'A') as dnsPacket.RecordType), 3000);
    if (!raw) return { error: 'no answer' };
    const p = dnsPacket.decode(raw);
    return { rcode: rcodeName(p), tc: p.flag_tc, answers: addresses(p) };
  }
  if (cmd === 'http') {
    const [method, url, body] = rest;
    const res = await fetch(url as string, { method, body: body === undefined ? undefined : body });
    return { status: res.status, body: await res.text() };
  }
  if (cmd === 'connect') {
    const [host, port, ms] = rest;
    return {
      outcome: await new Promise<string>((resolve) => {
        const s = connect({ host: host as string, port: Number(port) });
        const timer = setTimeout(() => {
          s.destroy();
          resolve('timeout');
        }, Number(ms ?? 500));
        s.on('connect', () => {
          clearTimeout(timer);
          s.destroy();
          resolve('connected');
        });
        s.on('error', (e: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          resolve(e.code === 'ECONNREFUSED' ? 'refused' : `error:${e.code}`);
        });
      }),
    };
  }
  throw new Error(`unknown command "${cmd}": use query, http or connect`);
}

main(process.argv.slice(2)).then(
  (out) => process.stdout.write(JSON.stringify(out) + '\n'),
  (e: unknown) => {
    process.stdout.write(JSON.stringify({ error: (e as Error).message }) + '\n');
    process.exitCode = 1;
  },
);
