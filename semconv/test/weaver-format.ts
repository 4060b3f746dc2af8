/**
 * What OTel Weaver accepts in a semantic-convention registry, as read from its source at v0.25.1
 * (github.com/open-telemetry/weaver, commit 26c685ff "Prepare release v0.25.1"; read, not vendored). Weaver is
 * not installable here, so the registry tests hold our files and our schema to these constraints instead.
 *
 * - Keys: Weaver deserializes files, groups, attributes and enum members with `#[serde(deny_unknown_fields)]`,
 *   so any other key fails its schema stage (crates/weaver_semconv/src/semconv.rs `SemConvSpecV1`,
 *   group.rs `GroupSpec`, attribute.rs `AttributeSpec` and `EnumEntriesSpec`). Fields the structs mark
 *   "must not be provided in yaml" (`include_groups`, `visibility`, `is_v2`, `span_name`, a group's
 *   `requirement_level`) are left out.
 * - Manifest: manifest.rs `RawManifestFields` (v0.25.1) and the `name` of the earlier `RegistryManifest`.
 * - Validation (group.rs `GroupSpec::validate`): `stability` on every group but attribute groups, never
 *   `deprecated`; `metric_name`, `instrument` and `unit` on a metric; attributes or `extends` on every group but
 *   metric and event; `brief` and `stability` on an attribute definition and `stability` on each enum member
 *   (warnings, errors under `--future`); `examples` on string and string[] attributes.
 * - Names: the live-check policy's `name_regex` (defaults/policies/live_check_advice/otel.rego) for attribute
 *   keys and metric names, with a namespace required of attribute keys (`missing_namespace`) and no attribute
 *   key used as another's namespace (`illegal_namespace`).
 * - Resolution (crates/weaver_resolver/src/registry.rs): group ids, metric names and attribute ids defined in
 *   attribute groups are unique across the registry's files.
 * - Policy (schemas/otel_policies.rego `registry_with_ref_attr`): no `ref` in a `registry.*` group.
 */

/** Keys of a v1 semantic-convention file. */
export const FILE_KEYS: ReadonlySet<string> = new Set(['groups', 'imports']);

/** Keys of a group. */
export const GROUP_KEYS: ReadonlySet<string> = new Set([
  'id', 'type', 'brief', 'note', 'prefix', 'extends', 'stability', 'deprecated', 'attributes', 'span_kind', 'events',
  'metric_name', 'instrument', 'unit', 'name', 'display_name', 'body', 'annotations', 'entity_associations',
]);

/** Group types. */
export const GROUP_TYPES: ReadonlySet<string> = new Set(['attribute_group', 'span', 'event', 'metric', 'metric_group', 'entity', 'resource', 'scope']);

/** Keys of an attribute definition (`id` form). */
export const ATTRIBUTE_DEFINITION_KEYS: ReadonlySet<string> = new Set([
  'id', 'type', 'brief', 'examples', 'tag', 'requirement_level', 'sampling_relevant', 'note', 'stability', 'deprecated', 'annotations', 'role',
]);

/** Keys of an attribute reference (`ref` form). */
export const ATTRIBUTE_REF_KEYS: ReadonlySet<string> = new Set([
  'ref', 'brief', 'examples', 'tag', 'requirement_level', 'sampling_relevant', 'note', 'stability', 'deprecated', 'prefix', 'annotations', 'role',
]);

/** Keys of an enum member. */
export const MEMBER_KEYS: ReadonlySet<string> = new Set(['id', 'value', 'brief', 'note', 'stability', 'deprecated', 'annotations']);

/** Keys of a registry manifest (v0.25.1, plus the `name` earlier versions require and v0.25.1 ignores). */
export const MANIFEST_KEYS: ReadonlySet<string> = new Set([
  'file_format', 'schema_url', 'description', 'semconv_version', 'schema_base_url', 'dependencies', 'stability', 'resolved_registry_uri', 'resolved_schema_uri', 'name',
]);

/** Stability levels Weaver accepts without a warning (`deprecated` is refused; `experimental` is an alias). */
export const STABILITY: ReadonlySet<string> = new Set(['stable', 'development', 'alpha', 'beta', 'release_candidate']);

/** Requirement levels in their plain (string) form. */
export const REQUIREMENT_LEVELS: ReadonlySet<string> = new Set(['required', 'recommended', 'opt_in']);

/** The primitive attribute types (an enum is an object with `members`). */
export const PRIMITIVE_TYPES: ReadonlySet<string> = new Set([
  'string', 'int', 'double', 'boolean', 'any', 'string[]', 'int[]', 'double[]', 'boolean[]',
]);

/** The live-check policy's `name_regex`, for attribute keys and metric names. */
export const NAME_REGEX = /^[a-z][a-z0-9]*([._][a-z0-9]+)*$/;

/** The namespaces of an attribute key: `a.b.c` -> `a`, `a.b` (live-check policy `derive_namespaces`). */
export function namespacesOf(key: string): string[] {
  const parts = key.split('.');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('.'));
}

/** The keys of `value` that `allowed` lacks, for a finding that names them. */
export function keysOutside(value: object, allowed: ReadonlySet<string>): string[] {
  return Object.keys(value).filter((k) => !allowed.has(k));
}
