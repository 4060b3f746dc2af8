import { citation } from '../documents.ts';
import { reportOnSeries, type Rule } from './rule.ts';

/** Label names that must carry a route template, never a raw path. */
export const PATH_TEMPLATE_LABELS: ReadonlySet<string> = new Set(['path_template', 'http_path_template', 'http_route', 'route_template']);

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const NUMERIC = /^\d+$/;
const LONG_HEX = /^[0-9a-f]{12,}$/i;
const OPAQUE_ID = /^[A-Za-z0-9_-]{20,}$/;

/**
 * Why a `path_template` value looks like a raw path rather than a route template, or undefined when it
 * looks like a template. Flags: a query string or fragment, a scheme (a full URL), a numeric id
 * segment (`/apps/123`), a UUID, a long hex segment (12+ hex digits with a digit: object ids, hashes), and
 * long opaque ids (20+ characters mixing letters and digits). Placeholders (`{org_id}`, `:id`, `*`) are fine.
 */
export function rawPathReason(value: string): string | undefined {
  if (value.includes('?')) return 'query string';
  if (value.includes('#')) return 'fragment';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return 'full URL';
  if (UUID.test(value)) return 'UUID segment';
  for (const seg of value.split('/')) {
    if (seg === '' || seg.startsWith('{') || seg.startsWith(':') || seg === '*') continue;
    if (NUMERIC.test(seg)) return `numeric id segment "${seg}"`;
    if (LONG_HEX.test(seg) && /\d/.test(seg)) return `long hex segment "${seg}"`;
    if (OPAQUE_ID.test(seg) && /\d/.test(seg) && /[A-Za-z]/.test(seg)) return `opaque id segment "${seg}"`;
  }
  return undefined;
}

/**
 * `path_template` (and `http_path_template`, `http_route`) values are route templates, not raw paths
 * (trc "Compliance tests" 2), on every family of a checked contract. Reports `path_template_raw`
 * quoting the values and the heuristic that matched first, one finding per label listing the families;
 * the series is marked wrong, so no budget counts it again.
 */
export function pathTemplateRule(): Rule {
  return {
    ids: ['path_template_raw'],
    onSeries(s, out) {
      for (const [k, v] of s.labels) {
        if (!PATH_TEMPLATE_LABELS.has(k)) continue;
        const why = rawPathReason(v);
        if (!why) continue;
        s.verdict.wrong = true;
        reportOnSeries(out, s, {
          rule: 'path_template_raw',
          label: k,
          value: v,
          drift: k,
          message: `looks like a raw path (${why}): record the route template, e.g. /v1/orgs/{org_id}/apps`,
          cite: citation(s.owner.contract, s.owner.spec, 'pathTemplates'),
        });
      }
    },
  };
}
