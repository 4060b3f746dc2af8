import { describe, expect, it } from 'vitest';
import { parseWgDump } from './wg-dump.ts';

// The shape `wg show <if> dump` prints (wireguard-tools 1.0.20210914, taken from a wireguard-go
// interface): the interface line, then one line per peer. overlay-netns.test.ts parses a live one.

const PRIV = 'eOHTh4jDidgoZYuhY2PZHKWx1dUeRJQlNaOs6ImPyHE=';
const PUB = 'sfrXjLQebxr53ig5B07sZF7JFp5XhjSPlc8KFwgq6lk=';
const PEER1 = 'CNm6keGtjUQ4XEzVm26iVOHNxqz0lt/HIYr1YRZ1fiI=';
const PEER2 = 'cKL4pMPlNNGIVqekqN1f+USbePJzVZTNrMWJ//q0ZnI=';
const IFACE = `${PRIV}\t${PUB}\t51820\toff`;
const peer = (key: string, handshake: string) => `${key}\t(none)\t10.250.7.2:51820\t10.251.7.2/32\t${handshake}\t220\t276\toff`;

describe('wg show <if> dump', () => {
  it('an interface with two peers: one handshaken, one never (0)', () => {
    expect(parseWgDump(`${IFACE}\n${peer(PEER1, '1796412382')}\n${peer(PEER2, '0')}\n`)).toEqual({
      peers: [
        { publicKey: PEER1, latestHandshake: 1796412382 },
        { publicKey: PEER2, latestHandshake: 0 },
      ],
      malformed: [],
    });
  });

  it('an interface without peers, and empty output, give no peers and nothing malformed', () => {
    expect(parseWgDump(`${IFACE}\n`)).toEqual({ peers: [], malformed: [] });
    expect(parseWgDump('')).toEqual({ peers: [], malformed: [] });
  });

  it('malformed lines are skipped and reported by number and field count: too few fields, a word for a handshake, a short key, a second interface line', () => {
    const text = [IFACE, peer(PEER1, '1796412382'), 'garbage', peer(PEER2, 'yesterday'), peer('c2hvcnQ=', '5'), IFACE, peer(PEER2, '7'), ''].join('\n');
    expect(parseWgDump(text)).toEqual({
      peers: [
        { publicKey: PEER1, latestHandshake: 1796412382 },
        { publicKey: PEER2, latestHandshake: 7 },
      ],
      malformed: [
        { line: 3, fields: 1 },
        { line: 4, fields: 8 },
        { line: 5, fields: 8 },
        { line: 6, fields: 4 },
      ],
    });
  });

  it('CRLF line ends read as LF; a missing interface line leaves the peer lines readable', () => {
    expect(parseWgDump(`${IFACE}\r\n${peer(PEER1, '12')}\r\n`).peers).toEqual([{ publicKey: PEER1, latestHandshake: 12 }]);
    expect(parseWgDump(`${peer(PEER1, '12')}\n`)).toEqual({ peers: [{ publicKey: PEER1, latestHandshake: 12 }], malformed: [] });
  });

  it('what is reported of a malformed line never includes its text (the interface line holds the private key)', () => {
    const out = parseWgDump(`${PRIV}\tbroken\n${peer(PEER1, '1')}\n`);
    expect(out.malformed).toEqual([{ line: 1, fields: 2 }]);
    expect(JSON.stringify(out)).not.toContain(PRIV);
  });
});
