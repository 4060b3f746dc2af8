import { Ajv, type ErrorObject } from 'ajv';

/**
 * The egress policy: the upstream sidecar's JSON shape, validated strictly with a JSON Schema (ajv),
 * compiled into case-insensitive exact and `*.domain` wildcard lookups where the first matching rule
 * wins and `default_action` applies otherwise (seed 000 §2 "Policy and Runtime").
 */

/** What a rule or the default does to a name. */
export type Action = 'allow' | 'deny';

/** One rule: `target` is a domain (`api.example.com`) or a wildcard (`*.example.com`, subdomains only). */
export interface EgressRule {
  readonly action: Action;
  readonly target: string;
}

/** The policy document of `OPENSANDBOX_NETWORK_POLICY` and `POST /policy`. */
export interface NetworkPolicy {
  /** Applied when no rule matches; `deny` when the document omits it (as upstream does). */
  readonly default_action: Action;
  /** Ordered rules; the first match wins. */
  readonly egress: readonly EgressRule[];
}

/** The policy in force when none is configured, and after `POST /policy` with an empty body. */
export const ALLOW_ALL: NetworkPolicy = Object.freeze({ default_action: 'allow', egress: Object.freeze([]) });

/** Most rules a policy may hold. */
export const MAX_RULES = 10_000;

/** A policy that cannot be used; `field` names the offending field (`egress[2].target`) or `body`. */
export class PolicyError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = 'PolicyError';
    this.field = field;
  }
}

const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
/** A domain name of letters, digits, `-` and `_`, optionally prefixed by `*.`, optionally with a trailing dot. */
export const TARGET_PATTERN = `^(?:\\*\\.)?${LABEL}(?:\\.${LABEL})*\\.?$`;

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    default_action: { enum: ['allow', 'deny'] },
    egress: {
      type: 'array',
      maxItems: MAX_RULES,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['action', 'target'],
        properties: {
          action: { enum: ['allow', 'deny'] },
          target: { type: 'string', minLength: 1, maxLength: 255, pattern: TARGET_PATTERN },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true, verbose: true });
const validate = ajv.compile(schema);

/**
 * Parses and validates a policy body. An empty (or all-whitespace) body means allow-all.
 * @throws PolicyError naming the field: bad JSON (`body`), unknown fields, wrong types, unknown
 *   actions, invalid or over-long target patterns, more than {@link MAX_RULES} rules.
 */
export function parsePolicy(raw: string): NetworkPolicy {
  if (raw.trim() === '') return ALLOW_ALL;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new PolicyError('body', `body: invalid JSON (${(e as Error).message}); send {"default_action":"deny","egress":[{"action":"allow","target":"*.example.com"}]}`);
  }
  return validatePolicy(value);
}

/**
 * Validates a parsed policy document and fills the defaults (`default_action` deny, `egress` empty).
 * @throws PolicyError naming the first offending field; the message lists up to five problems.
 */
export function validatePolicy(value: unknown): NetworkPolicy {
  if (!validate(value)) {
    const errors = validate.errors ?? [];
    const first = errors[0];
    const field = first ? fieldOf(first) : 'body';
    const messages = errors.slice(0, 5).map(describe);
    throw new PolicyError(field, `invalid policy: ${messages.join('; ')}`);
  }
  const doc = value as { default_action?: Action; egress?: EgressRule[] };
  for (const [i, rule] of (doc.egress ?? []).entries()) {
    const bare = rule.target.replace(/^\*\./, '').replace(/\.$/, '');
    if (bare.length > 253) throw new PolicyError(`egress[${i}].target`, `invalid policy: egress[${i}].target: the domain is ${bare.length} characters long; DNS names have at most 253`);
  }
  return {
    default_action: doc.default_action ?? 'deny',
    egress: (doc.egress ?? []).map((r) => ({ action: r.action, target: r.target })),
  };
}

function fieldOf(e: ErrorObject): string {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('')
    .replace(/^\./, '');
  if (e.keyword === 'additionalProperties') return join(path, String((e.params as { additionalProperty: string }).additionalProperty));
  if (e.keyword === 'required') return join(path, String((e.params as { missingProperty: string }).missingProperty));
  return path === '' ? 'body' : path;
}

function join(path: string, prop: string): string {
  return path === '' ? prop : `${path}.${prop}`;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function describe(e: ErrorObject): string {
  const field = fieldOf(e);
  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return `${field}: unknown field (allowed: ${allowed.join(', ')})`;
    }
    case 'required':
      return `${field}: required`;
    case 'enum':
      return `${field}: must be "allow" or "deny", got ${show(e.data)}`;
    case 'type':
      return `${field}: must be ${(e.params as { type: string }).type}, got ${Array.isArray(e.data) ? 'array' : e.data === null ? 'null' : typeof e.data}`;
    case 'pattern':
      return `${field}: ${show(e.data)} is not a domain name or a *.domain wildcard (labels of 1-63 letters, digits, '-' or '_')`;
    case 'minLength':
      return `${field}: must not be empty`;
    case 'maxLength':
      return `${field}: longer than ${(e.params as { limit: number }).limit} characters`;
    case 'maxItems':
      return `${field}: more than ${(e.params as { limit: number }).limit} rules`;
    default:
      return `${field}: ${e.message ?? 'invalid'}`;
  }
}

/** The outcome of evaluating one name; objects are preallocated per rule, so evaluation does not allocate. */
export interface Decision {
  readonly allowed: boolean;
  /** What decided: `egress[1] allow *.example.com`, `default_action deny`, or `always-allowed <why>`. */
  readonly rule: string;
}

/** A name the sidecar always lets through, whatever the policy says (its own OTLP endpoint). */
export interface PinnedName {
  readonly name: string;
  readonly why: string;
}

/**
 * A policy compiled for lookups: pinned names first, then the lowest-index rule among the exact match
 * and every wildcard matching a parent of the name, else `default_action`. Names are compared
 * lowercased without the trailing dot; `*.example.com` matches `a.example.com` and `a.b.example.com`
 * but not `example.com`.
 */
export class CompiledPolicy {
  readonly policy: NetworkPolicy;
  private readonly exact = new Map<string, number>();
  private readonly wildcard = new Map<string, number>();
  private readonly decisions: Decision[];
  private readonly fallback: Decision;
  private readonly pinned = new Map<string, Decision>();

  constructor(policy: NetworkPolicy, pinned: readonly PinnedName[] = []) {
    this.policy = policy;
    this.decisions = policy.egress.map((r, i) => Object.freeze({ allowed: r.action === 'allow', rule: `egress[${i}] ${r.action} ${r.target}` }));
    policy.egress.forEach((r, i) => {
      const t = normalizeName(r.target);
      const [map, key] = t.startsWith('*.') ? [this.wildcard, t.slice(2)] : [this.exact, t];
      if (!map.has(key)) map.set(key, i);
    });
    this.fallback = Object.freeze({ allowed: policy.default_action === 'allow', rule: `default_action ${policy.default_action}` });
    for (const p of pinned) this.pinned.set(normalizeName(p.name), Object.freeze({ allowed: true, rule: `always-allowed ${p.why}` }));
  }

  /** Decides one query name (as read by `parseQuery`: lowercased, no trailing dot). */
  evaluate(name: string): Decision {
    if (this.pinned.size > 0) {
      const pin = this.pinned.get(name);
      if (pin) return pin;
    }
    let best = this.exact.get(name) ?? Number.MAX_SAFE_INTEGER;
    if (this.wildcard.size > 0) {
      let dot = name.indexOf('.');
      while (dot >= 0) {
        const i = this.wildcard.get(name.slice(dot + 1));
        if (i !== undefined && i < best) best = i;
        dot = name.indexOf('.', dot + 1);
      }
    }
    return best === Number.MAX_SAFE_INTEGER ? this.fallback : (this.decisions[best] as Decision);
  }
}

/** Lowercases a name and strips one trailing dot. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * The policy in force. Replaced atomically by `POST /policy`; listeners run after each replacement
 * (rule-count gauge, nftables default verdict).
 */
export class ActivePolicy {
  private compiled: CompiledPolicy;
  private readonly pinned: readonly PinnedName[];
  private readonly listeners: ((p: NetworkPolicy) => void)[] = [];

  constructor(initial: NetworkPolicy, pinned: readonly PinnedName[] = []) {
    this.pinned = pinned;
    this.compiled = new CompiledPolicy(initial, pinned);
  }

  /** The compiled policy; read it once per query. */
  get current(): CompiledPolicy {
    return this.compiled;
  }

  /** Names always allowed, whatever the policy says. */
  get alwaysAllowed(): readonly PinnedName[] {
    return this.pinned;
  }

  /** Replaces the policy and tells the listeners. */
  set(policy: NetworkPolicy): void {
    this.compiled = new CompiledPolicy(policy, this.pinned);
    for (const l of this.listeners) l(policy);
  }

  /** Runs `listener` after every replacement. */
  onChange(listener: (p: NetworkPolicy) => void): void {
    this.listeners.push(listener);
  }
}

/**
 * The initial policy from `OPENSANDBOX_NETWORK_POLICY`; unset or empty means allow-all.
 * @throws PolicyError whose message names the variable and the field.
 */
export function initialPolicy(env: NodeJS.ProcessEnv): NetworkPolicy {
  const raw = env.OPENSANDBOX_NETWORK_POLICY;
  if (raw === undefined || raw.trim() === '') return ALLOW_ALL;
  try {
    return parsePolicy(raw);
  } catch (e) {
    const err = e as PolicyError;
    throw new PolicyError(err.field, `OPENSANDBOX_NETWORK_POLICY: ${err.message}; fix the variable or unset it to allow all`);
  }
}
