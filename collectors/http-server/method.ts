/** The `method` values of the trc HTTP families (seed 002 section A); anything else is `_OTHER`. */
const KNOWN = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const);

/** An HTTP method label value of trc_http_* families. */
export type MethodLabel = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'CONNECT' | 'OPTIONS' | 'TRACE' | 'PATCH' | '_OTHER';

/** The request method as the trc contract labels it: one of the nine standard methods (case-sensitive, as RFC 9110 says), else `_OTHER`. */
export function methodLabel(method: string | undefined): MethodLabel {
  return method !== undefined && KNOWN.has(method as never) ? (method as MethodLabel) : '_OTHER';
}
