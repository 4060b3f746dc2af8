import { connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';

/**
 * A ClientHello split the way a client may split it: over several TLS records (the handshake message
 * re-framed into small records) and over several TCP segments (small writes with a pause between).
 * TLS servers must accept both; so must the proxy's SNI reader.
 */

/**
 * Re-frames one TLS record (the ClientHello as Node's client writes it) into records of at most
 * `recordBytes` body bytes each, same type and version; the handshake bytes are unchanged.
 */
export function splitIntoRecords(record: Buffer, recordBytes: number): Buffer {
  const body = record.subarray(5, 5 + record.readUInt16BE(3));
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; at += recordBytes) {
    const part = body.subarray(at, at + recordBytes);
    const head = Buffer.from([record[0] as number, record[1] as number, record[2] as number, 0, 0]);
    head.writeUInt16BE(part.length, 3);
    out.push(head, part);
  }
  return Buffer.concat([...out, record.subarray(5 + body.length)]);
}

/**
 * A TCP connection to 127.0.0.1:`port` as a Duplex for `tls.connect({ socket })`: the TLS client's first
 * write (its ClientHello record) goes out re-framed into records of `recordBytes` and written
 * `segmentBytes` at a time, 1 ms apart; everything after passes through untouched.
 */
export function splittingTransport(port: number, recordBytes: number, segmentBytes: number): Duplex {
  const socket: Socket = connect({ port, host: '127.0.0.1', noDelay: true });
  let first = true;
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, done) {
      if (!first) {
        socket.write(chunk, (e) => done(e ?? null));
        return;
      }
      first = false;
      const bytes = splitIntoRecords(chunk, recordBytes);
      void (async () => {
        for (let at = 0; at < bytes.length && !socket.destroyed; at += segmentBytes) {
          socket.write(bytes.subarray(at, at + segmentBytes));
          await new Promise((r) => setTimeout(r, 1));
        }
        done();
      })();
    },
    read() {
      socket.resume();
    },
    final(done) {
      socket.end();
      done();
    },
    destroy(err, done) {
      socket.destroy();
      done(err);
    },
  });
  socket.on('data', (c: Buffer) => {
    if (!duplex.push(c)) socket.pause();
  });
  socket.on('end', () => duplex.push(null));
  socket.on('error', (e) => duplex.destroy(e));
  socket.on('close', () => duplex.destroy());
  return duplex;
}
