/**
 * Route templates configured by the operator (`OTEL_CONTRACTS_HTTP_ROUTES`), for apps whose framework
 * exposes no matched route (plain node:http): `/users/:id,/orders/{id}/items,/static/*`.
 *
 * Segment syntax: a literal segment matches itself; `:name` or `{name}` matches exactly one non-empty
 * segment; a final `*` matches the rest (zero or more segments). Query strings are ignored, and a
 * trailing slash on the request path is ignored.
 */
export interface RouteTemplates {
  /** The template matching `path` (a raw request path or URL), or undefined. */
  match(path: string): string | undefined;
  readonly templates: readonly string[];
}

interface Compiled {
  readonly template: string;
  readonly segments: readonly string[];
  /** Per segment: a parameter (matches any one non-empty segment) rather than a literal. */
  readonly params: readonly boolean[];
  readonly rest: boolean;
  /** More literal segments first, then longer, then without `*`. */
  readonly rank: number;
}

const isParam = (s: string) => s.startsWith(':') || (s.startsWith('{') && s.endsWith('}'));

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

const SLASH = 0x2f;

/**
 * Where the first `starts.length` non-empty segments of a request path begin and end (the query string
 * ignored), written into `starts`/`ends`; returns the number of segments, all of them counted. The
 * match runs once per request, so it reads the path in place instead of splitting it into strings.
 */
function segmentBounds(path: string, starts: Int32Array, ends: Int32Array): number {
  let end = path.indexOf('?');
  if (end < 0) end = path.length;
  let n = 0;
  let i = 0;
  while (i < end) {
    if (path.charCodeAt(i) === SLASH) {
      i++;
      continue;
    }
    const start = i;
    while (i < end && path.charCodeAt(i) !== SLASH) i++;
    if (n < starts.length) {
      starts[n] = start;
      ends[n] = i;
    }
    n++;
  }
  return n;
}

/**
 * Compiles a comma-separated template list. Templates are tried most specific first (most literal
 * segments, then most segments; a `*` template after the others), so `/users/me` wins over `/users/:id`.
 * Entries not starting with `/` are ignored.
 */
export function compileTemplates(list: string | undefined): RouteTemplates {
  const compiled: Compiled[] = [];
  for (const raw of (list ?? '').split(',')) {
    const template = raw.trim();
    if (!template.startsWith('/')) continue;
    let segments = split(template);
    const rest = segments.at(-1) === '*';
    if (rest) segments = segments.slice(0, -1);
    const params = segments.map(isParam);
    const literals = params.filter((p) => !p).length;
    compiled.push({ template, segments, params, rest, rank: (rest ? 0 : 1_000_000) + literals * 1000 + segments.length });
  }
  compiled.sort((a, b) => b.rank - a.rank);
  // Bounds of as many segments as the longest template has; a longer path only needs its count.
  const longest = Math.max(0, ...compiled.map((c) => c.segments.length));
  const starts = new Int32Array(longest);
  const ends = new Int32Array(longest);
  return {
    templates: compiled.map((c) => c.template),
    match(path) {
      if (compiled.length === 0) return undefined;
      const count = segmentBounds(path, starts, ends);
      for (const c of compiled) {
        const segments = c.segments;
        if (c.rest ? count < segments.length : count !== segments.length) continue;
        let ok = true;
        for (let i = 0; i < segments.length && ok; i++) {
          if (c.params[i]) continue;
          const seg = segments[i] as string;
          const start = starts[i] as number;
          ok = (ends[i] as number) - start === seg.length && path.startsWith(seg, start);
        }
        if (ok) return c.template;
      }
      return undefined;
    },
  };
}
