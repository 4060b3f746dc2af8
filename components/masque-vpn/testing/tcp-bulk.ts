/**
 * Bulk TCP for the benchmark, bounded in bytes and time:
 *   node tcp-bulk.ts sink HOST PORT              accepts connections, counts bytes, answers the count at EOF
 *   node tcp-bulk.ts send HOST PORT BYTES SECONDS  writes until BYTES or SECONDS, half-closes, reads the count
 * `send` prints `{bytes, seconds, mbitps}` (bytes acknowledged by the sink).
 */
import { connect, createServer } from 'node:net';

const [mode, host = '0.0.0.0', portS = '7008', bytesS = '268435456', secondsS = '10'] = process.argv.slice(2);
const port = Number(portS);

if (mode === 'sink') {
  const server = createServer((s) => {
    let n = 0;
    s.on('data', (d: Buffer) => (n += d.length));
    s.on('end', () => s.end(`${n}\n`));
    s.on('error', () => undefined);
  });
  server.listen(port, host, () => console.log(JSON.stringify({ listening: `${host}:${port}` })));
  process.on('SIGTERM', () => process.exit(0));
} else {
  const limit = Number(bytesS);
  const end = performance.now() + Number(secondsS) * 1000;
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  const s = connect(port, host);
  let written = 0;
  const t0 = performance.now();
  const pump = () => {
    while (written < limit && performance.now() < end) {
      written += chunk.length;
      if (!s.write(chunk)) return;
    }
    s.end();
  };
  s.on('connect', pump);
  s.on('drain', pump);
  let answer = '';
  s.on('data', (d: Buffer) => (answer += d.toString()));
  s.on('end', () => {
    const seconds = (performance.now() - t0) / 1000;
    const bytes = Number(answer.trim());
    console.log(JSON.stringify({ bytes, seconds, mbitps: Math.round((bytes * 8) / seconds / 1e6) }));
  });
}
