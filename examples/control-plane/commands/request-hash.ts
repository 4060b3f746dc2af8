/**
 * What makes two requests "the same" for an Idempotency-Key: the endpoint, its path parameters and the
 * body, compared as canonical JSON (keys sorted at every level), so `{"a":1,"b":2}` and `{"b":2,"a":1}`
 * are one request and `{"a":1}` and `{"a":2}` are two.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** SHA-256 (base64url) of the endpoint, the path parameters and the body. */
export function requestHash(endpoint: string, params: Readonly<Record<string, string>>, body: unknown): string {
  return createHash('sha256').update(canonicalJson({ endpoint, params, body })).digest('base64url');
}
