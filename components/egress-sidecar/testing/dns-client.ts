import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import dnsPacket from 'dns-packet';
import { tcpFrame } from '../dns-wire.ts';

/**
 * Test clients over real loopback sockets: UDP and TCP queries, and reading their answers. (The
 * sidecar's /metrics is read with test/exposition.ts.)
 */

/** Encodes an A (or other type) query for `name` with id `id`; `edns` adds an OPT record with that payload size. */
export function query(name: string, id = 1, type: dnsPacket.RecordType = 'A', edns?: number): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name, class: 'IN' }],
    additionals: edns ? [{ type: 'OPT', name: '.', udpPayloadSize: edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
  });
}

/**
 * Sends one datagram from a fresh socket and waits for the first answer.
 * @returns the answer, or undefined after `timeoutMs`.
 */
export function udpExchange(port: number, message: Buffer, timeoutMs = 3000, host = '127.0.0.1'): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (msg) => {
      clearTimeout(timer);
      s.close();
      resolve(msg);
    });
    s.send(message, port, host);
  });
}

/** {@link udpExchange}, decoded. @throws when no answer arrives within `timeoutMs`. */
export async function udpQuery(port: number, message: Buffer, timeoutMs = 3000): Promise<dnsPacket.DecodedPacket> {
  const raw = await udpExchange(port, message, timeoutMs);
  if (!raw) throw new Error(`no UDP answer from 127.0.0.1:${port} within ${timeoutMs} ms`);
  return dnsPacket.decode(raw);
}

/**
 * Sends queries over one TCP connection (all written at once, RFC 7766 pipelining) and collects
 * as many answers, in arrival order.
 * @throws on a connection error or when they do not all arrive within `timeoutMs`.
 */
export function tcpQueries(port: number, messages: readonly Buffer[], timeoutMs = 3000): Promise<dnsPacket.DecodedPacket[]> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const out: dnsPacket.DecodedPacket[] = [];
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${out.length} of ${messages.length} TCP answers within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('connect', () => {
      for (const m of messages) socket.write(tcpFrame(m));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === messages.length) {
        clearTimeout(timer);
        socket.destroy();
        resolve(out);
      }
    });
  });
}

/** The RCODE of a decoded packet (dns-packet reports it as a name). */
export function rcodeName(p: dnsPacket.DecodedPacket): string {
  return (p as unknown as { rcode: string }).rcode;
}

/** The A/AAAA addresses of a decoded answer. */
export function addresses(p: dnsPacket.DecodedPacket): string[] {
  return (p.answers ?? []).flatMap((a) => ((a.type === 'A' || a.type === 'AAAA') && typeof a.data === 'string' ? [a.data] : []));
}
