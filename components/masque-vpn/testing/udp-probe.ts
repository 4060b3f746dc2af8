/**
 * UDP client for the netns test and the benchmark, bounded in count and time:
 *   node udp-probe.ts echo HOST PORT COUNT SIZE   one datagram at a time, waits for its echo (1 s each)
 *   node udp-probe.ts flood HOST PORT SECONDS SIZE WINDOW   keeps WINDOW datagrams in flight for SECONDS
 * Prints one JSON line: `{sent, received, seconds, pps}` (pps counts echoed datagrams).
 */
import { createSocket } from 'node:dgram';

const [mode, host, portS, a, sizeS, windowS] = process.argv.slice(2);
const port = Number(portS);
const size = Number(sizeS ?? 100);
const sock = createSocket('udp4');
const payload = Buffer.alloc(size, 0x61);
let sent = 0;
let received = 0;
const t0 = performance.now();
const done = () => {
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ sent, received, seconds, pps: Math.round(received / seconds) }));
  sock.close();
};

if (mode === 'echo') {
  const count = Number(a);
  let timer: NodeJS.Timeout | undefined;
  const next = () => {
    if (sent >= count) return done();
    sent++;
    timer = setTimeout(next, 1000);
    sock.send(payload, port, host);
  };
  sock.on('message', () => {
    received++;
    clearTimeout(timer);
    next();
  });
  next();
} else {
  const seconds = Number(a);
  const window = Number(windowS ?? 32);
  const end = t0 + seconds * 1000;
  let inFlight = 0;
  const pump = () => {
    while (inFlight < window && performance.now() < end) {
      inFlight++;
      sent++;
      sock.send(payload, port, host);
    }
  };
  sock.on('message', () => {
    received++;
    inFlight--;
    pump();
  });
  // Losses would stall the window: refill it every 50 ms, and stop at the deadline.
  const refill = setInterval(() => {
    if (performance.now() >= end) {
      clearInterval(refill);
      setTimeout(done, 200);
    } else {
      inFlight = 0;
      pump();
    }
  }, 50);
  pump();
}
