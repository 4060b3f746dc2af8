import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import dnsPacket from 'dns-packet';
import { tcpFrame } from '../dns-wire.ts';

/**
 * A small authoritative DNS server for tests and the benchmark, built with dns-packet, on UDP and TCP
 * (same port). Zone `example.test`:
 *
 * | name                  | UDP                                           | TCP              |
 * |-----------------------|-----------------------------------------------|------------------|
 * | `*.example.test`      | A 192.0.2.1 / AAAA 2001:db8::1, TTL 300        | same             |
 * | `tc.example.test`     | empty answer with TC set                      | A 192.0.2.99     |
 * | `big.example.test`    | 40 A records (198.51.100.1-40); TC when over the client's limit | all 40 |
 * | `servfail.example.test` | SERVFAIL                                    | SERVFAIL         |
 * | `refused.example.test`  | REFUSED                                     | REFUSED          |
 * | `silent.example.test`   | no answer                                   | no answer        |
 * | `echo-<n>.example.test` | A 10.0.<n/256>.<n%256>                      | same             |
 * | anything else         | NXDOMAIN                                      | NXDOMAIN         |
 *
 * Run as a child: `node authoritative.ts [--host 127.0.0.1] [--port 0]` prints `{"port":N}` on stdout.
 */

/** A running authoritative server. */
export interface Authoritative {
  readonly host: string;
  readonly port: number;
  /** Queries received, by lowercased name. */
  readonly seen: Map<string, number>;
  /** Total queries received over UDP and TCP. */
  received(): number;
  close(): Promise<void>;
}

function answerFor(query: dnsPacket.DecodedPacket, transport: 'udp' | 'tcp'): Buffer | undefined {
  const q = query.questions?.[0];
  const name = (q?.name ?? '').toLowerCase();
  const base = { type: 'response' as const, id: query.id, flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED), questions: query.questions };
  const opt = query.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  const limit = transport === 'tcp' ? 65_535 : Math.max(512, opt?.udpPayloadSize ?? 512);
  const rcode = (code: number) => dnsPacket.encode({ ...base, flags: base.flags | code });
  if (name === 'silent.example.test') return undefined;
  if (name === 'servfail.example.test') return rcode(2);
  if (name === 'refused.example.test') return rcode(5);
  if (!name.endsWith('.example.test') && name !== 'example.test') return rcode(3);
  const type = q?.type;
  if (name === 'tc.example.test') {
    if (transport === 'udp') return dnsPacket.encode({ ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE });
    return dnsPacket.encode({ ...base, answers: [{ type: 'A', name: q?.name ?? name, ttl: 300, data: '192.0.2.99' }] });
  }
  if (name === 'big.example.test') {
    const answers = Array.from({ length: 40 }, (_, i) => ({ type: 'A' as const, name: q?.name ?? name, ttl: 300, data: `198.51.100.${i + 1}` }));
    const full = dnsPacket.encode({ ...base, answers });
    if (full.length <= limit) return full;
    return dnsPacket.encode({ ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE });
  }
  const echo = /^echo-(\d+)\.example\.test$/.exec(name);
  if (echo) {
    const n = Number(echo[1]);
    return dnsPacket.encode({ ...base, answers: [{ type: 'A', name: q?.name ?? name, ttl: 300, data: `10.0.${(n >> 8) & 255}.${n & 255}` }] });
  }
  if (type === 'A') return dnsPacket.encode({ ...base, answers: [{ type: 'A', name: q?.name ?? name, ttl: 300, data: '192.0.2.1' }] });
  if (type === 'AAAA') return dnsPacket.encode({ ...base, answers: [{ type: 'AAAA', name: q?.name ?? name, ttl: 300, data: '2001:db8::1' }] });
  return dnsPacket.encode(base);
}

/**
 * Starts the server on `host:port` (port 0: a free one shared by UDP and TCP).
 * @throws the bind error.
 */
export async function startAuthoritative(host = '127.0.0.1', port = 0): Promise<Authoritative> {
  const seen = new Map<string, number>();
  let count = 0;
  const handle = (msg: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    count++;
    const name = (query.questions?.[0]?.name ?? '').toLowerCase();
    seen.set(name, (seen.get(name) ?? 0) + 1);
    return answerFor(query, transport);
  };

  for (let attempt = 0; ; attempt++) {
    const udp: UdpSocket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => resolve());
    });
    const bound = udp.address().port;
    const sockets = new Set<TcpSocket>();
    const tcp: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      let buf: Buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          const reply = handle(buf.subarray(2, 2 + len), 'tcp');
          buf = buf.subarray(2 + len);
          if (reply) socket.write(tcpFrame(reply));
        }
      });
    });
    const ok = await new Promise<boolean>((resolve, reject) => {
      tcp.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' && port === 0 && attempt < 8 ? resolve(false) : reject(e)));
      tcp.listen(bound, host, () => resolve(true));
    });
    if (!ok) {
      udp.close();
      continue;
    }
    udp.on('message', (msg, rinfo) => {
      const reply = handle(msg, 'udp');
      if (reply) udp.send(reply, rinfo.port, rinfo.address);
    });
    return {
      host,
      port: bound,
      seen,
      received: () => count,
      close: async () => {
        for (const s of sockets) s.destroy();
        await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
      },
    };
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const arg = (name: string, dflt: string) => {
    const i = args.indexOf(name);
    return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : dflt;
  };
  const server = await startAuthoritative(arg('--host', '127.0.0.1'), Number(arg('--port', '0')));
  process.stdout.write(JSON.stringify({ port: server.port }) + '\n');
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
