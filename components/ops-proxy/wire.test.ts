import { describe, expect, it } from 'vitest';
import { hostCandidates, readHttpHead } from '../kit/http-host.ts';
import { LineSplitter, MAX_LINE_BYTES, WireError, canonicalName, decodeListenerMessage, decodePeerMessage, encode } from './wire.ts';

describe('wire protocol v1', () => {
  it('round-trips register, data, forward', () => {
    expect(decodePeerMessage(encode({ op: 'register', token: 't', names: ['A.test', 'svc:8443', 'a.test'] }).trim())).toEqual({ op: 'register', token: 't', names: ['a.test', 'svc:8443'] });
    expect(decodePeerMessage(encode({ op: 'data', token: 't', proxy_id: 'p1' }).trim())).toEqual({ op: 'data', token: 't', proxy_id: 'p1' });
    expect(decodeListenerMessage(encode({ op: 'forward', proxy_id: 'p1', name: 'a.test' }).trim())).toEqual({ op: 'forward', proxy_id: 'p1', name: 'a.test' });
    // An error naming held names (the connection stays open), and one without (the connection closes).
    expect(decodeListenerMessage(encode({ op: 'error', error: 'names held by another live peer: a.test', held: ['a.test'] }).trim())).toEqual({ op: 'error', error: 'names held by another live peer: a.test', held: ['a.test'] });
    expect(decodeListenerMessage('{"op":"error","error":"unauthorized"}')).toEqual({ op: 'error', error: 'unauthorized' });
  });

  it('rejects malformed lines with a WireError', () => {
    for (const bad of ['', 'x', '[]', '{"op":"register","v":2,"names":["a"]}', '{"op":"register","v":1,"names":[]}', '{"op":"register","v":1,"names":["a b"]}', '{"op":"data","v":1}', '{"op":"x","v":1}']) {
      expect(() => decodePeerMessage(bad), bad).toThrow(WireError);
    }
  });

  it('accepts any character a Host header allows in a name, nothing else', () => {
    expect(canonicalName("a-b_c.d~!$&'()*+,;=%:[]")).toBe("a-b_c.d~!$&'()*+,;=%:[]");
    for (const bad of ['', 'a b', 'a/b', 'a@b', '<unknown>', 'x'.repeat(254)]) expect(canonicalName(bad), bad).toBeUndefined();
  });

  it('splits lines across chunks and refuses an endless line', () => {
    const s = new LineSplitter();
    expect(s.push(Buffer.from('{"a":1}\n{"b"'))).toEqual(['{"a":1}']);
    expect(s.push(Buffer.from(':2}\nrest'))).toEqual(['{"b":2}']);
    expect(s.rest().toString()).toBe('rest');
    expect(() => new LineSplitter().push(Buffer.alloc(MAX_LINE_BYTES + 1, 0x61))).toThrow(WireError);
    // Reading one line leaves what follows untouched, however long and whatever it holds.
    const d = new LineSplitter();
    const payload = Buffer.alloc(MAX_LINE_BYTES * 3, 0x0a);
    d.append(Buffer.concat([Buffer.from('{"op":"data"}\n'), payload]));
    expect(d.next()).toBe('{"op":"data"}');
    expect(d.rest().equals(payload)).toBe(true);
  });
});

describe('HTTP Host', () => {
  it('reads Host from a complete head, case-insensitively', () => {
    expect(readHttpHead(Buffer.from('GET / HTTP/1.1\r\nhOsT: App.Test:8080\r\n\r\n'))).toEqual({ kind: 'host', host: 'App.Test:8080' });
    expect(readHttpHead(Buffer.from('GET / HTTP/1.1\r\nHost: a'))).toEqual({ kind: 'incomplete' });
    expect(readHttpHead(Buffer.from('GET / HTTP/1.0\r\n\r\n'))).toEqual({ kind: 'no_host' });
    expect(readHttpHead(Buffer.from('\x16\x03')).kind).toBe('malformed');
    expect(readHttpHead(Buffer.from('GET /\r\n\r\n')).kind).toBe('malformed');
  });

  it('tries the whole Host first, then without the port', () => {
    expect(hostCandidates('Svc:8443')).toEqual(['svc:8443', 'svc']);
    expect(hostCandidates('a.test')).toEqual(['a.test']);
  });
});
