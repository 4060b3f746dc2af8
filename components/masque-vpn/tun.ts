import { execFile } from 'node:child_process';
import { closeSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import koffi from 'koffi';
import type { PacketDevice } from './device.ts';
import { loadLibc } from './libc.ts';
import { readPackets } from './tun-reader.ts';

/**
 * A Linux TUN device (Documentation/networking/tuntap.rst): `open("/dev/net/tun")` and
 * `ioctl(TUNSETIFF, IFF_TUN | IFF_NO_PI)` through koffi (libc.ts), then
 * one IP packet per `read`/`write` on the descriptor. The descriptor is non-blocking and read by the
 * event loop itself, woken by epoll (tun-reader.ts), in order; writes are synchronous (a TUN write does
 * not block). The interface's address, MTU, routes and state are set with `ip` (iproute2), and IPv6 is
 * disabled on it (the tunnel carries what the pool assigns: IPv4), so the kernel sends no router
 * solicitations of its own through the tunnel. Needs root (CAP_NET_ADMIN).
 */

const run = promisify(execFile);

const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const O_RDWR = 2;
const O_CLOEXEC = 0o2000000;
const O_NONBLOCK = 0o4000;
const IFF_UP = 0x1;

/** The TUN device could not be created or configured. */
export class TunError extends Error {
  override readonly name = 'TunError';
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args, { timeout: 10_000 });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new TunError(`ip ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}

/**
 * Creates (or attaches to) the TUN interface `name`, sets its MTU and brings it up.
 * @param name interface name, at most 15 bytes.
 * @param mtu MTU in bytes (default 1400: fits a 1500-byte underlay with TLS, HTTP/2 and capsule framing).
 * @throws TunError for a bad name, without /dev/net/tun or CAP_NET_ADMIN (the errno's text), or when `ip` fails.
 */
export async function openTun(name: string, mtu = 1400): Promise<PacketDevice> {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) throw new TunError(`--tun ${JSON.stringify(name)}: an interface name is 1-15 letters, digits, '_', '.', '-'`);
  const c = loadLibc();
  const fd = c.open('/dev/net/tun', O_RDWR | O_CLOEXEC | O_NONBLOCK) as number;
  if (fd < 0) throw new TunError(`open /dev/net/tun: ${c.strerror(koffi.errno()) as string} (needs root and the tun module)`);
  const ifr = new Uint8Array(40);
  ifr.set(Buffer.from(name, 'ascii'));
  new DataView(ifr.buffer).setUint16(16, IFF_TUN | IFF_NO_PI, true);
  if ((c.ioctl(fd, TUNSETIFF, ifr) as number) < 0) {
    const why = c.strerror(koffi.errno()) as string;
    closeSync(fd);
    throw new TunError(`ioctl(TUNSETIFF, ${name}): ${why}`);
  }
  try {
    // No IPv6 on the tunnel interface: no link-local address, no router solicitations into the tunnel.
    try {
      writeFileSync(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '1');
    } catch {
      // IPv6 disabled system-wide: nothing to do.
    }
    await ip('link', 'set', 'dev', name, 'mtu', String(mtu), 'up');
  } catch (e) {
    closeSync(fd);
    throw e;
  }

  let closed = false; // by close() or a read error: no more writes
  let released = false;
  let receiver: ((p: Buffer) => void) | undefined;
  let onErr: ((e: Error) => void) | undefined;
  const fail = (e: Error) => {
    if (closed) return;
    closed = true;
    onErr?.(e);
  };
  // Reading starts with the receiver: until then the kernel queues (and past its queue, drops) packets.
  let reader: Socket | undefined;
  return {
    name,
    mtu,
    write(packet) {
      if (closed) throw new TunError(`${name} is closed`);
      writeSync(fd, packet);
    },
    onPacket(r) {
      receiver = r;
      reader ??= readPackets(fd, mtu, (p) => receiver?.(p), fail);
    },
    onError(r) {
      onErr = r;
    },
    linkUp() {
      if (closed) return false;
      try {
        // IFF_RUNNING is not in sysfs `flags`; `carrier` is 1 while a process holds the TUN open.
        const flags = Number.parseInt(readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim(), 16);
        return (flags & IFF_UP) !== 0 && readFileSync(`/sys/class/net/${name}/carrier`, 'utf8').trim() === '1';
      } catch {
        return false;
      }
    },
    addAddress: (cidr) => ip('addr', 'add', cidr, 'dev', name),
    flushAddresses: () => ip('addr', 'flush', 'dev', name),
    addRoute: (cidr) => ip('route', 'replace', cidr, 'dev', name),
    async close() {
      if (released) return;
      released = closed = true;
      await ip('link', 'set', 'dev', name, 'down').catch(() => undefined);
      if (reader) reader.destroy(); // closes the descriptor
      else closeSync(fd);
    },
  };
}
