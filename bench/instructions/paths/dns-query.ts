import type { RemoteInfo } from 'node:dgram';
import type { HotPath } from '../hot-path.ts';
import { FLOOR, OURS } from './peers.ts';

/**
 * One allowed DNS query through the egress sidecar's handler, in-process (see loopback-dgram.ts): the
 * query arrives on the listening socket as a `message` event, goes through what dns-server.ts does with it
 * (a client per datagram), the Resolver (parse, policy, metrics) and the Forwarder (random id, pending
 * table, matching the answer to its question), and the upstream's answer arrives on the forwarder's
 * socket and goes back to the client. Against the floor, the bare Node relay of bench/support/dns-procs.ts
 * (a client address filed under the query id, the answer sent back to it: no parsing, policy, metrics,
 * id rewriting or timeouts) on the same sockets. The upstream's answer is a fresh copy of a prepared one
 * per query in both, as dgram gives a fresh buffer per datagram.
 *
 * The 16 names repeat, as a sandbox's names do, so the parser's recent-name cache (dns-wire.ts) and the
 * policy's decision memo (policy.ts) hit. A name never seen before misses both and costs about what every
 * query cost before they existed (14.2k instructions per query measured with 8192 distinct names cycling,
 * against 14.0k per query before the caches and the id-indexed pending table).
 */

const NAMES = Array.from({ length: 16 }, (_, i) => `host-${i}.example.test`);
const CLIENT = { address: '127.0.0.1', family: 'IPv4', port: 41_000 } as const;
const UPSTREAM = { address: '127.0.0.1', family: 'IPv4', port: 53, size: 0 } as const;

/** The queries (A, recursion desired, no EDNS) and the answers an upstream gives them (one A record), by name. */
async function exchanges(): Promise<{ queries: Buffer[]; answers: Buffer[] }> {
  const { default: dnsPacket } = await import('dns-packet');
  const queries = NAMES.map((name, i) => dnsPacket.encode({ type: 'query', id: i + 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] }));
  const answers = NAMES.map((name) =>
    dnsPacket.encode({
      type: 'response',
      id: 0,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ type: 'A', name, class: 'IN' }],
      answers: [{ type: 'A', name, ttl: 60, class: 'IN', data: '192.0.2.1' }],
    }),
  );
  return { queries, answers };
}

/**
 * Delivers the answer to the datagram a forwarder sent upstream: a copy of the prepared answer with the
 * sent id, emitted as a `message` on the sending socket. @throws Error when nothing was sent.
 */
async function answering(answers: readonly Buffer[]): Promise<(i: number) => void> {
  const { takeSent } = await import('./loopback-dgram.ts');
  return (i) => {
    const out = takeSent();
    if (out === undefined) throw new Error('the proxy sent nothing upstream');
    const answer = Buffer.from(answers[i % answers.length] as Buffer);
    answer.writeUInt16BE(out.message.readUInt16BE(0), 0);
    out.socket.emit('message', answer, UPSTREAM);
    if (takeSent() === undefined) throw new Error('the proxy sent no answer to the client');
  };
}

export const DNS_QUERY_PATH: HotPath = {
  id: 'dns-query',
  title: 'DNS query, allowed and answered: egress handler vs a bare relay (floor), in-process',
  unit: 'instructions per query',
  ratioTo: FLOOR,
  // A multiple of the forwarder's block of 4096 random ids, so each segment draws the same number of blocks.
  warmup: 61_440,
  counts: [4_096, 8_192],
  implementations: [
    {
      name: FLOOR,
      async setup() {
        const { installLoopbackDgram } = await import('./loopback-dgram.ts');
        installLoopbackDgram();
        const dgram = await import('node:dgram');
        const { queries, answers } = await exchanges();
        const clients: (RemoteInfo | undefined)[] = new Array(65536);
        const up = dgram.createSocket('udp4');
        const down = dgram.createSocket('udp4');
        up.on('message', (m: Buffer) => {
          const id = m.readUInt16BE(0);
          const c = clients[id];
          if (c === undefined) return;
          clients[id] = undefined;
          down.send(m, c.port, c.address);
        });
        down.on('message', (m: Buffer, rinfo: RemoteInfo) => {
          clients[m.readUInt16BE(0)] = rinfo;
          up.send(m);
        });
        const answer = await answering(answers);
        return (i: number) => {
          down.emit('message', queries[i % queries.length], { ...CLIENT, size: 0 });
          answer(i);
        };
      },
    },
    {
      name: OURS,
      async setup() {
        const { installLoopbackDgram } = await import('./loopback-dgram.ts');
        installLoopbackDgram();
        const dgram = await import('node:dgram');
        const { createLogger } = await import('../../../instrumentation/logger.ts');
        const { createSidecarMetrics } = await import('../../../components/egress-sidecar/metrics.ts');
        const { Forwarder } = await import('../../../components/egress-sidecar/forwarder.ts');
        const { ActivePolicy } = await import('../../../components/egress-sidecar/policy.ts');
        const { Resolver } = await import('../../../components/egress-sidecar/resolver.ts');
        const env = { OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_LOG_LEVEL: 'silent', OPENSANDBOX_EGRESS_INSTANCE_ID: 'bench' };
        const logger = createLogger('opensandbox-egress', env);
        const metrics = createSidecarMetrics(env, logger);
        const policy = new ActivePolicy({ default_action: 'deny', egress: [{ action: 'allow', target: '*.example.test' }] });
        let resolver: InstanceType<typeof Resolver> | undefined;
        const forwarder = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: 53 }], timeoutMs: 5_000, logger, onDrop: (reason) => resolver?.drop(reason) });
        await forwarder.start();
        resolver = new Resolver({ policy, forwarder, metrics: metrics.egress, selfMetrics: metrics.self, logger });
        const handler = resolver;
        // What dns-server.ts does per datagram: a client that answers from the listening socket.
        const udp = dgram.createSocket('udp4');
        const send = (response: Buffer, port: number, address: string) => udp.send(response, port, address);
        class UdpClient {
          readonly address: string;
          readonly port: number;
          readonly transport = 'udp' as const;
          private readonly sendTo: typeof send;
          constructor(address: string, port: number, sendTo: typeof send) {
            this.address = address;
            this.port = port;
            this.sendTo = sendTo;
          }
          reply(response: Buffer): void {
            this.sendTo(response, this.port, this.address);
          }
        }
        udp.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
          handler.handle(msg, new UdpClient(rinfo.address, rinfo.port, send));
        });
        const { queries, answers } = await exchanges();
        const answer = await answering(answers);
        return (i: number) => {
          udp.emit('message', queries[i % queries.length], { ...CLIENT, size: 0 });
          answer(i);
        };
      },
    },
  ],
};
