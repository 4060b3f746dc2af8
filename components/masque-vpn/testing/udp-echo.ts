/**
 * A UDP echo server for the netns test and the benchmark: `node udp-echo.ts HOST PORT`; prints
 * `{"listening":"HOST:PORT"}` once bound, echoes every datagram, exits on SIGTERM.
 */
import { createSocket } from 'node:dgram';

const [host = '0.0.0.0', port = '7007'] = process.argv.slice(2);
const sock = createSocket('udp4');
sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
sock.bind(Number(port), host, () => console.log(JSON.stringify({ listening: `${host}:${port}` })));
process.on('SIGTERM', () => sock.close(() => process.exit(0)));
