import { describe, expect, it } from 'vitest';
import { parseIp } from './ip-address.ts';
import { encodeProxyV2, ProxyV2Error } from './proxy-v2.ts';

// The PROXY v2 header byte by byte, as HAProxy's proxy-protocol.txt (section 2.2) lays it out. The
// interoperability check against HAProxy's own parser is in haproxy.test.ts.

const SIG = '0d0a0d0a000d0a515549540a';

describe('PROXY protocol v2 header', () => {
  it('TCP over IPv4 with the SNI as PP2_TYPE_AUTHORITY', () => {
    const h = encodeProxyV2({ sourceAddress: '192.0.2.10', sourcePort: 51234, destinationAddress: '127.0.0.1', destinationPort: 8443, authority: 'app.example.com' });
    // ver_cmd 0x21, fam 0x11, len = 12 (addresses) + 3 + 15 (TLV)
    const expected = [
      SIG,
      '21', '11', '001e',
      'c000020a', '7f000001', 'c822', '20fb',
      '02', '000f', Buffer.from('app.example.com').toString('hex'),
    ].join('');
    expect(h.toString('hex')).toBe(expected);
    expect(h.length).toBe(16 + 12 + 3 + 15);
  });

  it('TCP over IPv6, without a TLV when there is no authority', () => {
    const h = encodeProxyV2({ sourceAddress: '2001:db8::1', sourcePort: 1, destinationAddress: '::1', destinationPort: 443 });
    expect(h.toString('hex')).toBe([SIG, '21', '21', '0024', '20010db8000000000000000000000001', '00000000000000000000000000000001', '0001', '01bb'].join(''));
  });

  it('IPv4-mapped addresses of a dual-stack listener go as IPv4; mixed families both as IPv6', () => {
    const mapped = encodeProxyV2({ sourceAddress: '::ffff:10.1.2.3', sourcePort: 5, destinationAddress: '::ffff:127.0.0.1', destinationPort: 6 });
    expect(mapped.subarray(13, 16).toString('hex')).toBe('11000c');
    expect(mapped.subarray(16, 24).toString('hex')).toBe('0a0102037f000001');
    const mixed = encodeProxyV2({ sourceAddress: '10.1.2.3', sourcePort: 5, destinationAddress: 'fe80::1%eth0', destinationPort: 6 });
    expect(mixed[13]).toBe(0x21);
    expect(mixed.subarray(16, 32).toString('hex')).toBe('00000000000000000000ffff0a010203');
    expect(mixed.subarray(32, 48).toString('hex')).toBe('fe800000000000000000000000000001');
  });

  it('parses every IPv6 spelling Node reports', () => {
    expect(parseIp('::').bytes.toString('hex')).toBe('0'.repeat(32));
    expect(parseIp('1::').bytes.toString('hex')).toBe(`0001${'0'.repeat(28)}`);
    expect(parseIp('1:2:3:4:5:6:7:8').bytes.toString('hex')).toBe('00010002000300040005000600070008');
    expect(parseIp('64:ff9b::192.0.2.33').bytes.toString('hex')).toBe('0064ff9b0000000000000000c0000221');
    expect(parseIp('::ffff:1.2.3.4')).toEqual({ family: 4, bytes: Buffer.from([1, 2, 3, 4]) });
  });

  it('refuses what it cannot encode: a closed socket (no address), a host name, a bad port, an over-long authority', () => {
    const ok = { sourceAddress: '127.0.0.1', sourcePort: 1, destinationAddress: '127.0.0.1', destinationPort: 2 };
    expect(() => encodeProxyV2({ ...ok, sourceAddress: undefined as unknown as string })).toThrow(ProxyV2Error);
    expect(() => encodeProxyV2({ ...ok, destinationAddress: 'localhost' })).toThrow(/not an IP address/);
    expect(() => encodeProxyV2({ ...ok, sourcePort: 70000 })).toThrow(/source port 70000/);
    expect(() => encodeProxyV2({ ...ok, authority: 'a'.repeat(256) })).toThrow(/longer than 255/);
  });
});
