/**
 * JSON Schema (draft 2020-12 subset that ajv 8 checks) of the edge's routes file, YAML or JSON. It
 * checks shapes and closes every object (an unknown field rejects the file); what a schema cannot say
 * (duplicate ids, duplicate names, addresses, `listeners_default` naming a route) is checked in
 * routes-file.ts. Documented in the component's README ("Routes file").
 */

/** A DNS name or a one-label wildcard (`*.example.com`), 1..253 characters; letters, digits, `-` and `_` per label. */
export const SNI_PATTERN = '^(\\*\\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\\.?$';

/** Route ids: what logs show; bounded by the file, never a metric label. */
export const ROUTE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

/** Most routes in one file. */
export const MAX_ROUTES = 10_000;
/** Most backends in one route. */
export const MAX_BACKENDS_PER_ROUTE = 256;

/** The schema, as ajv takes it. */
export const ROUTES_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['routes'],
  properties: {
    routes: {
      type: 'array',
      maxItems: MAX_ROUTES,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'protocol_hint', 'backends'],
        properties: {
          id: { type: 'string', pattern: ROUTE_ID_PATTERN },
          sni: { type: 'string', minLength: 1, maxLength: 254, pattern: SNI_PATTERN },
          protocol_hint: { enum: ['tls', 'http', 'tcp'] },
          backends: { type: 'array', minItems: 1, maxItems: MAX_BACKENDS_PER_ROUTE, items: { type: 'string', minLength: 1, maxLength: 300 } },
          proxy_v2: { type: 'boolean' },
        },
        // A tls or http route is found by its name: it needs one.
        if: { properties: { protocol_hint: { enum: ['tls', 'http'] } } },
        then: { properties: { sni: { type: 'string' } }, required: ['sni'] },
      },
    },
    listeners_default: { type: 'string', pattern: ROUTE_ID_PATTERN },
    health: {
      type: 'object',
      additionalProperties: false,
      properties: {
        interval_ms: { type: 'integer', minimum: 50, maximum: 3_600_000 },
        timeout_ms: { type: 'integer', minimum: 10, maximum: 60_000 },
        unhealthy_after: { type: 'integer', minimum: 1, maximum: 100 },
        healthy_after: { type: 'integer', minimum: 1, maximum: 100 },
      },
    },
  },
} as const;
