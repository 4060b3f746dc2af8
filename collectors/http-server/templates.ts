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
  readonly rest: boolean;
  /** More literal segments first, then longer, then without `*`. */
  readonly rank: number;
}

const isParam = (s: string) => s.startsWith(':') || (s.startsWith('{') && s.endsWith('}'));

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
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
    const literals = segments.filter((s) => !isParam(s)).length;
    compiled.push({ template, segments, rest, rank: (rest ? 0 : 1_000_000) + literals * 1000 + segments.length });
  }
  compiled.sort((a, b) => b.rank - a.rank);
  return {
    templates: compiled.map((c) => c.template),
    match(path) {
      if (compiled.length === 0) return undefined;
      const q = path.indexOf('?');
      const parts = split(q >= 0 ? path.slice(0, q) : path);
      for (const c of compiled) {
        if (c.rest ? parts.length < c.segments.length : parts.length !== c.segments.length) continue;
        let ok = true;
        for (let i = 0; i < c.segments.length && ok; i++) {
          const seg = c.segments[i] as string;
          ok = isParam(seg) || seg === parts[i];
        }
        if (ok) return c.template;
      }
      return undefined;
    },
  };
}
