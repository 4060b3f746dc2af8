/** One TCP socket as `ss -tinHe` reports it. */
export interface SsSocket {
  /** Socket inode (`ino:`), matching `/proc/self/fd/N -> socket:[inode]`. */
  readonly inode: number;
  /** Smoothed RTT from TCP_INFO (`rtt:SRTT/RTTVAR`), in seconds. */
  readonly rttSeconds: number;
  /** Milliseconds since the last send, receive or ACK (smallest of `lastsnd`, `lastrcv`, `lastack`), when reported. */
  readonly idleMs?: number;
}

const IDLE_FIELDS = [/\blastsnd:(\d+)/, /\blastrcv:(\d+)/, /\blastack:(\d+)/];

/**
 * Parses `ss -t -i -n -H -e` output: one record per socket, a first line with the addresses and `ino:N`,
 * then indented line(s) with the TCP_INFO fields (`rtt:0.031/0.017` in ms, `lastsnd:108`, ...). Records
 * without an inode or an RTT (e.g. not yet established) are skipped. Never throws.
 */
export function parseSsOutput(text: string): SsSocket[] {
  const out: SsSocket[] = [];
  let record = '';
  const flush = () => {
    if (!record) return;
    const ino = /\bino:(\d+)/.exec(record);
    const rtt = /\brtt:([\d.]+)\//.exec(record);
    if (ino && rtt) {
      const inode = Number(ino[1]);
      const rttSeconds = Number(rtt[1]) / 1000;
      if (inode > 0 && Number.isFinite(rttSeconds)) {
        const idle = IDLE_FIELDS
          .map((re) => re.exec(record)?.[1])
          .filter((v): v is string => v !== undefined)
          .map(Number);
        out.push(idle.length ? { inode, rttSeconds, idleMs: Math.min(...idle) } : { inode, rttSeconds });
      }
    }
    record = '';
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line)) record += ' ' + line.trim();
    else {
      flush();
      record = line;
    }
  }
  flush();
  return out;
}
