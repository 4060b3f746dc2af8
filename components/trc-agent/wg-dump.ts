/**
 * Reader of `wg show <interface> dump` (wireguard-tools, wg(8) "dump"): tab-separated lines, first the
 * interface (private key, public key, listen port, fwmark), then one line per peer (public key, preshared
 * key, endpoint, allowed IPs, latest handshake in Unix seconds or 0 for never, bytes received, bytes sent,
 * persistent keepalive). A line of another shape is skipped and reported by number and field count only:
 * the interface line holds the private key, so no line's text ever reaches a log.
 */

/** One peer of an interface. */
export interface WgPeer {
  /** Base64 public key (44 characters). */
  readonly publicKey: string;
  /** Time of the latest handshake in Unix seconds; 0 when there has been none. */
  readonly latestHandshake: number;
}

/** A line that was skipped: its 1-based number and how many tab-separated fields it had. */
export interface MalformedLine {
  readonly line: number;
  readonly fields: number;
}

/** What a dump says. */
export interface WgDump {
  readonly peers: readonly WgPeer[];
  readonly malformed: readonly MalformedLine[];
}

const KEY = /^[A-Za-z0-9+/]{43}=$/;
const UINT = /^\d{1,20}$/;
const INTERFACE_FIELDS = 4;
const PEER_FIELDS = 8;

function isInterfaceLine(f: readonly string[]): boolean {
  return f.length === INTERFACE_FIELDS && (f[1] === '(none)' || KEY.test(f[1] as string)) && UINT.test(f[2] as string);
}

function peerOf(f: readonly string[]): WgPeer | undefined {
  if (f.length !== PEER_FIELDS) return undefined;
  const [key, , , , handshake, rx, tx] = f as [string, string, string, string, string, string, string];
  if (!KEY.test(key) || !UINT.test(handshake) || !UINT.test(rx) || !UINT.test(tx)) return undefined;
  return { publicKey: key, latestHandshake: Number(handshake) };
}

/** Parses the output of `wg show <interface> dump`; empty lines are ignored. Never throws. */
export function parseWgDump(text: string): WgDump {
  const peers: WgPeer[] = [];
  const malformed: MalformedLine[] = [];
  const lines = text.split('\n');
  let first = true;
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line === '') continue;
    const fields = line.split('\t');
    if (first) {
      first = false;
      if (isInterfaceLine(fields)) continue;
    }
    const peer = peerOf(fields);
    if (peer) peers.push(peer);
    else malformed.push({ line: i + 1, fields: fields.length });
  }
  return { peers, malformed };
}
