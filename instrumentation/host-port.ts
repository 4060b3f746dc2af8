/** A host (name, IPv4 or IPv6 literal) and a TCP or UDP port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `host:port` for logs and URLs, with an IPv6 literal in brackets (`[::1]:9464`). */
export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
