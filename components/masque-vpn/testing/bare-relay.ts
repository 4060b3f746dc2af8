/**
 * The benchmark's floor for a Node tunnel: the same TUN device and event-loop reads as masque-vpn
 * (tun.ts, tun-reader.ts), relayed over one plain TCP connection with a 2-byte length before each packet.
 * No TLS, no HTTP/2, no capsules, no checks, no metrics: what any Node relay between a TUN and a socket
 * costs on this machine.
 *   node bare-relay.ts server TUN CIDR PORT        listens on 0.0.0.0:PORT, one peer at a time
 *   node bare-relay.ts client TUN CIDR HOST PORT   connects to HOST:PORT
 * Prints `{"up":true}` once the TUN has its address and (client) the connection is open; exits on SIGTERM.
 */
import { connect, createServer, type Socket } from 'node:net';
import { openTun } from '../tun.ts';

const [mode, dev = 'relay0', cidr = '10.79.0.1/24', a = '9000', b = '9000'] = process.argv.slice(2);
const tun = await openTun(dev, 1400);
await tun.addAddress(cidr);
let peer: Socket | undefined;
let pending = Buffer.alloc(0);

/** Writes every whole frame of `chunk` (after what is held) to the TUN; holds a partial frame. */
const fromPeer = (chunk: Buffer) => {
  const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
  let o = 0;
  while (buf.length - o >= 2) {
    const n = buf.readUInt16BE(o);
    if (buf.length - o - 2 < n) break;
    tun.write(buf.subarray(o + 2, o + 2 + n));
    o += 2 + n;
  }
  pending = Buffer.from(buf.subarray(o));
};
tun.onPacket((p) => {
  if (!peer) return;
  const frame = Buffer.allocUnsafe(p.length + 2);
  frame.writeUInt16BE(p.length, 0);
  p.copy(frame, 2);
  peer.write(frame);
});
const attach = (s: Socket) => {
  peer = s;
  pending = Buffer.alloc(0);
  s.setNoDelay(true);
  s.on('data', fromPeer);
  s.on('error', () => undefined);
  s.on('close', () => (peer = peer === s ? undefined : peer));
};
if (mode === 'server') {
  createServer(attach).listen(Number(a), '0.0.0.0', () => console.log(JSON.stringify({ up: true })));
} else {
  const s = connect(Number(b), a, () => console.log(JSON.stringify({ up: true })));
  attach(s);
}
process.on('SIGTERM', () => void tun.close().finally(() => process.exit(0)));
