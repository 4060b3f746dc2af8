import type { ClientHttp2Stream } from 'node:http2';
import type { Logger } from 'pino';
import { CapsuleType, type Capsule } from './capsule.ts';
import { openCapsuleStream } from './capsule-stream.ts';
import { decodeAddressAssign, decodeDatagram, decodeRouteAdvertisement, encodeIpDatagram } from './connect-ip-capsules.ts';
import type { PacketDevice } from './device.ts';
import { inspectPacket } from './ip-packet.ts';
import { bytesToNumber, numberToIpv4 } from './pool.ts';
import { rangeToCidrs } from './ranges.ts';

/**
 * One established tunnel on the client (the stream after the server's `200`): the ADDRESS_ASSIGN it
 * receives becomes the device's address and the ROUTE_ADVERTISEMENT that follows becomes routes through
 * the device; then IP packets go both ways in DATAGRAM capsules with context ID 0 (RFC 9484 §6).
 */

/** What a tunnel was given. */
export interface TunnelInfo {
  /** `A.B.C.D/N` as assigned. */
  readonly address: string;
  /** Routes installed (CIDRs). */
  readonly routes: readonly string[];
}

/** Packet counts of a client, across its tunnels. */
export interface ClientStats {
  /** Tunnels that came up. */
  tunnels: number;
  /** Requests the server refused (non-200). */
  refused: number;
  /** Packets sent to the server. */
  sent: number;
  /** Packets from the server written to the device. */
  received: number;
  /** Packets dropped: from the device with no tunnel up, or from the server failing the IP checks. */
  dropped: number;
}

/** What a tunnel tells its client. */
export interface ClientTunnelEvents {
  /** Address and routes are installed on the device: packets may flow. */
  up(info: TunnelInfo): void;
  /** The stream closed (server's end, a reset, the session's end, or a failure installing the address); `why` for the log. */
  down(why: string): void;
}

/** A running tunnel. */
export interface ClientTunnel {
  /** Sends one IP packet from the device to the server. @returns false when the stream is ending or gone (the packet is not sent). */
  send(packet: Uint8Array): boolean;
  /** Ends the tunnel cleanly (what is queued is sent first). */
  end(): void;
}

/**
 * Runs the tunnel on `stream` (opened with `CAPSULE_STREAM_OPTIONS`) until it closes. Capsules from the
 * server are read by capsule-stream.ts: a malformed stream is reset with PROTOCOL_ERROR and logged; a
 * packet that fails the IP header checks is dropped (counted in `stats.dropped`).
 */
export function runClientTunnel(stream: ClientHttp2Stream, device: PacketDevice, logger: Logger, stats: ClientStats, events: ClientTunnelEvents): ClientTunnel {
  let assigned: string | undefined;
  const install = async (address: string, routes: string[]) => {
    await device.flushAddresses();
    await device.addAddress(address);
    for (const r of routes) await device.addRoute(r);
    events.up({ address, routes });
  };
  const receive = (c: Capsule) => {
    if (c.type === CapsuleType.DATAGRAM) {
      const d = decodeDatagram(c.value);
      if (d.contextId !== 0) return; // RFC 9484 §6: other contexts are dropped
      if (!inspectPacket(d.payload, device.mtu).ok) {
        stats.dropped++;
        return;
      }
      stats.received++;
      device.write(d.payload);
    } else if (c.type === CapsuleType.ADDRESS_ASSIGN) {
      const a = decodeAddressAssign(c.value).find((x) => x.version === 4);
      if (a) assigned = `${numberToIpv4(bytesToNumber(a.address))}/${a.prefixLength}`;
    } else if (c.type === CapsuleType.ROUTE_ADVERTISEMENT) {
      const routes = decodeRouteAdvertisement(c.value)
        .filter((r) => r.version === 4)
        .flatMap((r) => rangeToCidrs(bytesToNumber(r.start), bytesToNumber(r.end)));
      // The server sends its ROUTE_ADVERTISEMENT after the ADDRESS_ASSIGN: together they make the tunnel usable.
      if (assigned) {
        install(assigned, routes).catch((e: unknown) => {
          logger.error({ err: (e as Error).message }, 'configuring the TUN failed');
          capsules.end();
        });
      }
    }
  };
  stream.on('error', (e) => logger.debug({ err: e.message }, 'tunnel stream error'));
  stream.on('close', () => events.down(`tunnel stream closed (code ${stream.rstCode ?? 0})`));
  const capsules = openCapsuleStream(stream, {
    capsule: receive,
    // The server ended the tunnel: end ours too so the stream closes (and the client reconnects).
    end: () => capsules.end(),
    malformed: (e) => logger.error({ err: e.message }, 'malformed capsule stream from the server: tunnel reset with PROTOCOL_ERROR'),
  });
  return {
    send(packet) {
      if (!stream.writable) return false;
      stream.write(encodeIpDatagram(packet));
      return true;
    },
    end: () => capsules.end(),
  };
}
