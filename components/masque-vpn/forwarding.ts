import type { ServerHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { encodeIpDatagram } from './connect-ip-capsules.ts';
import type { PacketDevice } from './device.ts';
import { acceptFromClient, inspectPacket } from './ip-packet.ts';
import { reportError, type MasqueMetrics } from './metrics.ts';
import { bytesToNumber } from './pool.ts';

/**
 * The server's packet forwarding between its device (the TUN) and the open tunnels, as a router would
 * (RFC 9484 §4.3, §6): a packet from a client is checked (its source must be the client's assigned
 * address) and written to the device; a packet out of the device goes to the tunnel that holds its
 * destination address. Each packet is timed (`packet_processing_duration_seconds{direction}`) and each
 * refusal counted by reason.
 */

/** An open tunnel as forwarding sees it. */
export interface ForwardedTunnel {
  readonly clientId: string;
  /** The client's assigned IPv4 address, as a number and as 4 bytes. */
  readonly address: number;
  readonly addressBytes: Uint8Array;
  /** The CONNECT-IP stream DATAGRAM capsules are written to. */
  readonly stream: ServerHttp2Stream;
}

/** Bytes queued on one client's stream beyond which a packet for it is dropped (`processing_error`): a slow client must not grow the server's memory. */
const MAX_QUEUED = 4 * 1024 * 1024;

/** Forwarding between one device and the tunnels attached to it. */
export class PacketForwarding {
  private readonly byAddress = new Map<number, ForwardedTunnel>();
  private readonly device: PacketDevice;
  private readonly metrics: MasqueMetrics;
  private readonly logger: Logger;

  /** Takes over `device`'s packet and error receivers. */
  constructor(device: PacketDevice, metrics: MasqueMetrics, logger: Logger) {
    this.device = device;
    this.metrics = metrics;
    this.logger = logger;
    device.onPacket((p) => this.toClient(p));
    device.onError((e) => reportError(metrics, logger, 'tun', { err: e.message, tun: device.name }, 'TUN read failed: forwarding to clients stopped'));
  }

  /** Open tunnels. */
  get tunnels(): number {
    return this.byAddress.size;
  }

  /** Packets for `t.address` go to `t` from now on. */
  attach(t: ForwardedTunnel): void {
    this.byAddress.set(t.address, t);
  }

  /** Packets for `address` have no tunnel any more (dropped as `invalid`). */
  detach(address: number): void {
    this.byAddress.delete(address);
  }

  /**
   * One IP packet from a client (the payload of a DATAGRAM capsule with context ID 0): counted as
   * received, checked, TTL decremented, written to the device.
   */
  fromClient(t: ForwardedTunnel, payload: Uint8Array): void {
    const { metrics } = this;
    const t0 = performance.now(); // ms, sub-microsecond resolution, no BigInt per packet
    const p = Buffer.from(payload); // our own copy: the TTL is decremented in place
    metrics.received(t.clientId, p.length);
    const r = acceptFromClient(p, t.addressBytes, this.device.mtu);
    if (!r.ok) {
      metrics.drop(r.reason);
      metrics.error('packet');
      this.logger.debug({ client_id: t.clientId, reason: r.reason, detail: r.detail }, 'packet from a client dropped');
    } else {
      try {
        this.device.write(p);
      } catch (e) {
        metrics.drop('processing_error');
        reportError(metrics, this.logger, 'tun', { err: (e as Error).message }, 'TUN write failed');
      }
    }
    metrics.processed('inbound', (performance.now() - t0) / 1000);
  }

  /** One IP packet out of the device: checked, then sent to the tunnel holding its destination. */
  private toClient(p: Buffer): void {
    const { metrics } = this;
    const t0 = performance.now(); // ms, sub-microsecond resolution, no BigInt per packet
    const r = inspectPacket(p, this.device.mtu);
    // The pool is IPv4: an IPv6 packet has no tunnel to go to.
    const t = r.ok && r.version === 4 ? this.byAddress.get(bytesToNumber(r.dst)) : undefined;
    if (!r.ok) {
      metrics.drop(r.reason);
      metrics.error('packet');
      this.logger.debug({ reason: r.reason, detail: r.detail }, 'packet from the TUN dropped');
    } else if (!t) {
      metrics.drop('invalid');
      metrics.error('packet');
      this.logger.debug({ version: r.version }, 'packet from the TUN to no client address dropped');
    } else if (!t.stream.writable || t.stream.writableLength > MAX_QUEUED) {
      metrics.drop('processing_error');
      metrics.error('connection');
    } else {
      t.stream.write(encodeIpDatagram(p));
      metrics.sent(t.clientId, p.length);
    }
    metrics.processed('outbound', (performance.now() - t0) / 1000);
  }
}
