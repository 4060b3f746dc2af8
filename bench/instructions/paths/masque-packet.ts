import { EventEmitter } from 'node:events';
import type { HotPath, Operation } from '../hot-path.ts';
import { FLOOR, OURS } from './peers.ts';

/**
 * One IP packet through the masque-vpn server, in-process: a 92-byte IPv4 UDP packet in a DATAGRAM capsule
 * arriving on a CONNECT-IP stream (client → TUN: the capsule stream's parser, the datagram's context ID,
 * the source and checksum checks, the TTL, the metrics, the write to the device), and one out of the device
 * (TUN → client: the checks, the tunnel lookup, the capsule encoding, the metrics, the write to the stream).
 * The tunnel is the real one (`serveTunnel` on a stand-in for the HTTP/2 stream, `PacketForwarding` on a
 * stand-in for the TUN), so the figures are ours alone: HTTP/2 framing and the TUN's system calls are not
 * counted. The floor relays the same bytes with the capsule header read or written by hand: no checks, no
 * TTL, no metrics.
 */

/** The HTTP/2 stream as the tunnel uses it: events in, writes counted and dropped. */
class BenchStream extends EventEmitter {
  readonly writable = true;
  readonly writableLength = 0;
  readonly writableEnded = false;
  readonly rstCode = 0;
  bytes = 0;
  respond(): void {}
  write(chunk: Uint8Array): boolean {
    this.bytes += chunk.length;
    return true;
  }
  end(): void {}
  close(): void {}
}

/** The TUN as forwarding uses it: writes counted and dropped, packets injected by the benchmark. */
class BenchDevice {
  readonly name = 'bench0';
  readonly mtu = 1500;
  bytes = 0;
  receiver: ((p: Buffer) => void) | undefined;
  write(packet: Uint8Array): void {
    this.bytes += packet.length;
  }
  onPacket(receiver: (p: Buffer) => void): void {
    this.receiver = receiver;
  }
  onError(): void {}
  linkUp(): boolean {
    return true;
  }
  async addAddress(): Promise<void> {}
  async flushAddresses(): Promise<void> {}
  async addRoute(): Promise<void> {}
  async close(): Promise<void> {}
}

const POOL = '10.77.0.0/24';
/** The first address the pool hands out: the tunnel's. */
const CLIENT_ADDRESS = '10.77.0.2';
const PEER = '10.0.0.1';

/** Our server's tunnel on a stand-in stream and device; `direction` picks which way the packets go. */
async function oursTunnel(direction: 'in' | 'out'): Promise<Operation> {
  const { pino } = await import('pino');
  const { createMasqueMetrics } = await import('../../../components/masque-vpn/metrics.ts');
  const { AddressPool } = await import('../../../components/masque-vpn/pool.ts');
  const { PacketForwarding } = await import('../../../components/masque-vpn/forwarding.ts');
  const { serveTunnel } = await import('../../../components/masque-vpn/server-tunnel.ts');
  const { advertisedRanges } = await import('../../../components/masque-vpn/ranges.ts');
  const { encodeIpDatagram } = await import('../../../components/masque-vpn/connect-ip-capsules.ts');
  const { udp4 } = await import('../../../components/masque-vpn/testing/packets.ts');
  const logger = pino({ level: 'silent' });
  const metrics = createMasqueMetrics({ OTEL_METRICS_EXPORTER: 'prometheus', OTEL_CONTRACTS_LOG_LEVEL: 'silent' }, logger);
  const pool = new AddressPool(POOL);
  const device = new BenchDevice();
  const forwarding = new PacketForwarding(device as never, metrics, logger);
  const stream = new BenchStream();
  serveTunnel(stream as never, 'client-1', process.hrtime.bigint(), { pool, ranges: advertisedRanges(pool, []), forwarding, metrics, logger }, { opened() {}, closed() {} });
  const payload = new Uint8Array(64).fill(7);
  if (direction === 'in') {
    const chunk = encodeIpDatagram(udp4(CLIENT_ADDRESS, PEER, 40_000, 7, payload));
    return () => void stream.emit('data', chunk);
  }
  const packet = udp4(PEER, CLIENT_ADDRESS, 7, 40_000, payload);
  const receive = device.receiver as (p: Buffer) => void;
  return () => receive(packet);
}

/** The floor: the capsule header read (in) or written (out) by hand around the same packet. */
async function floorRelay(direction: 'in' | 'out'): Promise<Operation> {
  const { encodeIpDatagram } = await import('../../../components/masque-vpn/connect-ip-capsules.ts');
  const { udp4 } = await import('../../../components/masque-vpn/testing/packets.ts');
  const device = new BenchDevice();
  const stream = new BenchStream();
  const payload = new Uint8Array(64).fill(7);
  if (direction === 'in') {
    // Type (1-byte varint 0x00), Length (1- or 2-byte varint), Context ID 0, packet.
    stream.on('data', (chunk: Buffer) => {
      const o = (chunk[1] as number) < 0x40 ? 2 : 3;
      device.write(chunk.subarray(o + 1));
    });
    const chunk = encodeIpDatagram(udp4(CLIENT_ADDRESS, PEER, 40_000, 7, payload));
    return () => void stream.emit('data', chunk);
  }
  device.onPacket((p) => {
    const len = p.length + 1;
    const out = Buffer.allocUnsafe(len < 0x40 ? len + 2 : len + 3);
    out[0] = 0;
    let o = 1;
    if (len < 0x40) out[o++] = len;
    else {
      out.writeUInt16BE(0x4000 | len, 1);
      o = 3;
    }
    out[o++] = 0;
    out.set(p, o);
    stream.write(out);
  });
  const packet = udp4(PEER, CLIENT_ADDRESS, 7, 40_000, payload);
  const receive = device.receiver as (p: Buffer) => void;
  return () => receive(packet);
}

/** A masque row: one packet `direction`. */
function masquePath(direction: 'in' | 'out'): HotPath {
  return {
    id: `masque-${direction}`,
    title: direction === 'in' ? 'masque packet, client → TUN (capsule in, checks, TTL)' : 'masque packet, TUN → client (checks, capsule out)',
    unit: 'instructions per packet',
    ratioTo: FLOOR,
    warmup: 60_000,
    counts: [1_000, 2_000, 4_000],
    implementations: [
      { name: FLOOR, setup: () => floorRelay(direction) },
      { name: OURS, setup: () => oursTunnel(direction) },
    ],
  };
}

/** Both directions. */
export const MASQUE_PATHS: readonly HotPath[] = [masquePath('in'), masquePath('out')];
