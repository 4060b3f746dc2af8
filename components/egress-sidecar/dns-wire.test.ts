import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { buildErrorResponse, echoesQuestion, parseQuery, RCODE, type QueryInfo } from './dns-wire.ts';
import { query } from './testing/dns-client.ts';

// The hand reader against dns-packet on the same bytes, and on bytes dns-packet would never write.

function info(buf: Buffer): QueryInfo {
  const q = parseQuery(buf);
  if (typeof q === 'string') throw new Error(`expected a query, got ${q}`);
  return q;
}

describe('dns-wire: parseQuery', () => {
  it('agrees with dns-packet on 2000 encoded queries (names, types, EDNS sizes)', () => {
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const types: dnsPacket.RecordType[] = ['A', 'AAAA', 'MX', 'TXT', 'SRV', 'HTTPS' as dnsPacket.RecordType, 'CNAME', 'NS'];
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
    for (let i = 0; i < 2000; i++) {
      const labels = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => Array.from({ length: 1 + Math.floor(rnd() * 20) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join(''));
      const name = labels.join('.');
      const type = types[i % types.length] as dnsPacket.RecordType;
      const edns = rnd() < 0.5 ? 512 + Math.floor(rnd() * 8000) : undefined;
      const buf = query(name, i & 0xffff, type, edns);
      const mine = info(buf);
      const theirs = dnsPacket.decode(buf);
      expect(mine.id).toBe(theirs.id);
      expect(mine.name).toBe(theirs.questions?.[0]?.name.toLowerCase());
      expect(mine.qtype).toBe(buf.readUInt16BE(mine.questionEnd - 4));
      expect(mine.edns).toBe(edns !== undefined);
      expect(mine.udpPayload).toBe(edns === undefined ? 512 : Math.min(4096, edns));
    }
  });

  it('lowercases, drops the trailing dot, reads the root as empty and escapes odd label bytes', () => {
    expect(info(query('WWW.Example.COM')).name).toBe('www.example.com');
    const root = Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0, 2, 0, 1])]);
    expect(info(root).name).toBe('');
    // One label "evil.com" (the dot inside the label) under "x": must not read as "evil.com.x".
    const dotted = Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([8]), Buffer.from('evil.com'), Buffer.from([1, 0x78, 0, 0, 1, 0, 1])]);
    expect(info(dotted).name).toBe('evil\\046com.x');
  });

  it('reads a name asked again (any case, any id, after its cache slot changed hands) as the first time', () => {
    // More names than the recent-name cache has slots, so slots are shared and replaced; every name twice
    // or more, in several spellings, with and without EDNS, and some longer than a slot holds.
    const long = (i: number) => `${'l'.repeat(60)}.${'m'.repeat(60)}.n${i}.example.test`;
    const names = Array.from({ length: 3000 }, (_, i) => (i % 10 === 0 ? long(i) : `Host-${i % 1500}.Example.test`));
    for (let round = 0; round < 3; round++) {
      for (const [i, name] of names.entries()) {
        const spelled = round === 1 ? name.toUpperCase() : round === 2 ? name.toLowerCase() : name;
        const buf = query(spelled, (i + round) & 0xffff, 'A', i % 2 === 0 ? 1232 : undefined);
        const q = info(buf);
        expect(q.name).toBe(name.toLowerCase());
        expect(q.questionEnd).toBe(12 + Buffer.byteLength(name) + 2 + 4);
        expect(q.id).toBe((i + round) & 0xffff);
        expect(q.edns).toBe(i % 2 === 0);
      }
    }
    // Names of one length that differ in one byte, alternately: never taken for each other.
    for (let k = 0; k < 200; k++) for (const c of ['a', 'b']) expect(info(query(`${c}${k % 10}.x.test`)).name).toBe(`${c}${k % 10}.x.test`);
    // A question name ending in a compression pointer (here to a zero byte of the header: legal, if odd)
    // goes through the general reader every time, and is never cached under its wire bytes.
    const pointed = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x78, 0xc0, 6, 0, 1, 0, 1]);
    expect(info(pointed).name).toBe('x');
    expect(info(pointed).name).toBe('x');
  });

  it('refuses what is not a single well-formed query', () => {
    const valid = query('a.example.test', 1, 'A', 1232);
    const response = Buffer.from(valid);
    response[2] = (response[2] as number) | 0x80;
    const notify = Buffer.from(valid);
    notify[2] = ((notify[2] as number) & 0x87) | (4 << 3);
    const twoQuestions = Buffer.from(valid);
    twoQuestions.writeUInt16BE(2, 4);
    const selfPointer = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    const loop = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0xc0, 12, 0, 1, 0, 1]);
    const longName = Buffer.concat([valid.subarray(0, 12), ...Array.from({ length: 5 }, () => Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)])), Buffer.from([0, 0, 1, 0, 1])]);
    expect(parseQuery(Buffer.alloc(4097))).toBe('oversized');
    expect(parseQuery(valid.subarray(0, 11))).toBe('malformed');
    expect(parseQuery(valid.subarray(0, valid.length - 1))).toBe('malformed');
    expect(parseQuery(Buffer.concat([valid, Buffer.from([0])]))).toBe('malformed');
    expect(parseQuery(response)).toBe('not_a_query');
    expect(parseQuery(notify)).toBe('not_a_query');
    expect(parseQuery(twoQuestions)).toBe('malformed');
    expect(parseQuery(selfPointer)).toBe('malformed');
    expect(parseQuery(loop)).toBe('malformed');
    expect(parseQuery(longName)).toBe('malformed');
  });
});

describe('dns-wire: answers', () => {
  it('builds NXDOMAIN and SERVFAIL answers dns-packet reads back, with the question and EDNS echoed', () => {
    const q = query('Blocked.Example', 0xabcd, 'AAAA', 4096);
    const nx = dnsPacket.decode(buildErrorResponse(q, info(q), RCODE.NXDOMAIN));
    expect(nx.id).toBe(0xabcd);
    expect(nx.type).toBe('response');
    expect((nx as unknown as { rcode: string }).rcode).toBe('NXDOMAIN');
    expect(nx.flag_rd).toBe(true);
    expect(nx.flag_ra).toBe(true);
    expect(nx.questions).toEqual([{ name: 'Blocked.Example', type: 'AAAA', class: 'IN' }]);
    expect(nx.additionals?.[0]?.type).toBe('OPT');
    const plain = query('x.test', 9);
    const sf = dnsPacket.decode(buildErrorResponse(plain, info(plain), RCODE.SERVFAIL));
    expect((sf as unknown as { rcode: string }).rcode).toBe('SERVFAIL');
    expect(sf.additionals).toEqual([]);
  });

  it('matches an answer to its query by the echoed question, case-insensitively', () => {
    const q = query('Mixed.Example.test', 1);
    const answer = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'mixed.EXAMPLE.test', class: 'IN' }] });
    const other = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'A', name: 'other.example.test', class: 'IN' }] });
    const otherType = dnsPacket.encode({ type: 'response', id: 1, questions: [{ type: 'AAAA', name: 'mixed.example.test', class: 'IN' }] });
    const qEnd = info(q).questionEnd;
    expect(echoesQuestion(answer, q, qEnd)).toBe(true);
    expect(echoesQuestion(other, q, qEnd)).toBe(false);
    expect(echoesQuestion(otherType, q, qEnd)).toBe(false);
    // An error answer may omit the question; a NOERROR one may not.
    expect(echoesQuestion(dnsPacket.encode({ type: 'response', id: 1, flags: 2, questions: [] }), q, qEnd)).toBe(true);
    expect(echoesQuestion(dnsPacket.encode({ type: 'response', id: 1, questions: [] }), q, qEnd)).toBe(false);
  });
});
