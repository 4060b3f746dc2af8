import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CLIENT_HELLO_RECORDS, readClientHello } from './client-hello.ts';
import { splitIntoRecords } from '../ops-proxy/testing/tls-records.ts';

// Real ClientHellos, as Node's TLS client writes them, captured by a plain TCP server on loopback.

const server = createServer((s) => {
  s.once('data', (c: Buffer) => {
    captured.shift()?.(c);
    s.destroy();
  });
});
const captured: ((b: Buffer) => void)[] = [];

beforeAll(() => new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r())));
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** The first bytes a TLS client sends for `servername` ('' sends no SNI). */
function clientHello(servername: string): Promise<Buffer> {
  return new Promise((resolve) => {
    captured.push(resolve);
    const s = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername, rejectUnauthorized: false });
    s.on('error', () => undefined);
  });
}

describe('ClientHello SNI', () => {
  it('reads the server name of a real ClientHello', async () => {
    expect(readClientHello(await clientHello('app.example.test'))).toEqual({ kind: 'sni', name: 'app.example.test' });
  });

  it('says no_sni for a ClientHello without server_name', async () => {
    expect(readClientHello(await clientHello(''))).toEqual({ kind: 'no_sni' });
  });

  it('says incomplete for every prefix of a ClientHello, not_tls for other bytes', async () => {
    const hello = await clientHello('a.test');
    for (let n = 0; n < hello.length; n += 7) expect(readClientHello(hello.subarray(0, n)).kind).toBe('incomplete');
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')).kind).toBe('not_tls');
    expect(readClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x02, 0, 0, 0])).kind).toBe('not_tls');
  });

  it('reassembles a ClientHello split over several TLS records, arriving in pieces', async () => {
    const hello = await clientHello('split.example.test');
    for (const recordBytes of [1000, 100, 3, 1].filter((n) => Math.ceil((hello.length - 5) / n) <= MAX_CLIENT_HELLO_RECORDS)) {
      const split = splitIntoRecords(hello, recordBytes);
      expect(readClientHello(split), `records of ${recordBytes}`).toEqual({ kind: 'sni', name: 'split.example.test' });
      for (let n = 0; n < split.length; n += 5) expect(readClientHello(split.subarray(0, n)).kind).toBe('incomplete');
    }
    // Past the record cap, or a record of another type before the ClientHello ended: not read.
    expect(readClientHello(splitIntoRecords(hello, Math.floor((hello.length - 5) / (MAX_CLIENT_HELLO_RECORDS + 1)))).kind).toBe('not_tls');
    const split = splitIntoRecords(hello, 100);
    const alert = Buffer.from(split);
    alert[105] = 0x15;
    expect(readClientHello(alert)).toMatchObject({ kind: 'not_tls' });
  });

  it('never throws on random or corrupted input', async () => {
    const hello = await clientHello('fuzz.test');
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(hello);
      for (let k = 0; k < 4; k++) b[5 + ((i * 31 + k * 97) % (b.length - 5))] = randomBytes(1)[0] as number;
      expect(() => readClientHello(b)).not.toThrow();
      expect(() => readClientHello(randomBytes(i % 300))).not.toThrow();
    }
  });
});
