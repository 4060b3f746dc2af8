import { readFileSync, statSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { SidecarConfigError } from './config.ts';
import { parseJsonSteps, TooManyElementsError } from './policy-json.ts';

/**
 * The egress policy: the upstream sidecar's JSON shape, validated strictly with a JSON Schema (ajv),
 * compiled into case-insensitive exact and `*.domain` wildcard lookups where the first matching rule
 * wins and `default_action` applies otherwise (seed 000 §2 "Policy and Runtime"). Validation and
 * compilation are written as steps ({@link validateSteps}, {@link compileSteps}) that run in one go at
 * start-up ({@link runSync}) or in slices that yield to the event loop for `POST /policy` ({@link runSliced}),
 * so that applying a 10 000-rule policy never holds DNS answers for long.
 */

/** What a rule or the default does to a name. */
export type Action = 'allow' | 'deny';

/** One rule: `target` is a domain (`api.example.com`) or a wildcard (`*.example.com`, subdomains only). */
export interface EgressRule {
  readonly action: Action;
  readonly target: string;
}

/** The policy document of `OPENSANDBOX_NETWORK_POLICY`, `OPENSANDBOX_NETWORK_POLICY_FILE` and `POST /policy`. */
export interface NetworkPolicy {
  /** Applied when no rule matches; `deny` when the document omits it (as upstream does). */
  readonly default_action: Action;
  /** Ordered rules; the first match wins. */
  readonly egress: readonly EgressRule[];
}

/** The policy in force when none is configured, and after `POST /policy` with an empty body. */
export const ALLOW_ALL: NetworkPolicy = Object.freeze({ default_action: 'allow', egress: Object.freeze([]) });

/** Most rules a policy may hold (more is refused with a `PolicyError` on `egress`). */
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

/** The document without its rules: rules are validated one at a time (see {@link validateSteps}). */
const documentSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    default_action: { enum: ['allow', 'deny'] },
    egress: { type: 'array', maxItems: MAX_RULES },
  },
} as const;

/** One rule of `egress`. */
const ruleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['action', 'target'],
  properties: {
    action: { enum: ['allow', 'deny'] },
    target: { type: 'string', minLength: 1, maxLength: 255, pattern: TARGET_PATTERN },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true, verbose: true });
const validateDocument = ajv.compile(documentSchema);
const validateRule = ajv.compile(ruleSchema);

/** Problems listed in one {@link PolicyError} message; validation stops once it has this many. */
const MAX_LISTED_PROBLEMS = 5;
/** Rules validated or compiled between two checks of the slice budget (see {@link runSliced}). */
const RULES_PER_STEP = 64;
/**
 * Default time budget of one slice of a policy's parsing, validation or compilation, in milliseconds:
 * between slices the event loop answers DNS. A 10 000-rule policy (0.5 MB) takes some 10 to 20 slices.
 */
export const SLICE_BUDGET_MS = 1;

/**
 * Runs a stepwise computation to its end in one go (start-up, tests).
 * @throws whatever the steps throw.
 */
export function runSync<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Runs a stepwise computation in slices of about `budgetMs` milliseconds of CPU, yielding to the event
 * loop (`setImmediate`) between slices so that DNS answers and other I/O go out in between.
 * @throws (rejects with) whatever the steps throw.
 */
export async function runSliced<T>(steps: Generator<void, T>, budgetMs = SLICE_BUDGET_MS): Promise<T> {
  let deadline = performance.now() + budgetMs;
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() >= deadline) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      deadline = performance.now() + budgetMs;
    }
  }
}

/**
 * The steps of parsing a policy body: its JSON ({@link parseJsonSteps}, which refuses more than
 * {@link MAX_RULES} rules before parsing them), then {@link validateSteps}. An empty (or all-whitespace)
 * body means allow-all.
 * @throws PolicyError naming the field: bad JSON (`body`, with the parser's message and an example of a
 *   good body), too many rules (`egress`), and everything {@link validateSteps} refuses.
 */
export function* policySteps(raw: string): Generator<void, NetworkPolicy> {
  if (raw.trim() === '') return ALLOW_ALL;
  let value: unknown;
  try {
    value = yield* parseJsonSteps(raw, MAX_RULES);
  } catch (e) {
    if (e instanceof TooManyElementsError) throw new PolicyError('egress', `invalid policy: egress: more than ${MAX_RULES} rules`);
    throw new PolicyError('body', `body: invalid JSON (${(e as Error).message}); send {"default_action":"deny","egress":[{"action":"allow","target":"*.example.com"}]}`);
  }
  return yield* validateSteps(value);
}

/**
 * Parses and validates a policy body in one go (start-up: the variable or the file); see {@link policySteps}.
 * @throws PolicyError naming the field: bad JSON (`body`), unknown fields, wrong types, unknown
 *   actions, invalid or over-long target patterns, more than {@link MAX_RULES} rules.
 */
export function parsePolicy(raw: string): NetworkPolicy {
  return runSync(policySteps(raw));
}

/**
 * {@link parsePolicy} for `POST /policy`: in slices of about `budgetMs` milliseconds, yielding to the event
 * loop between them, so that DNS keeps answering while a 10 000-rule body is parsed and validated.
 * @throws (rejects with) PolicyError as {@link parsePolicy}.
 */
export function parsePolicySliced(raw: string, budgetMs = SLICE_BUDGET_MS): Promise<NetworkPolicy> {
  return runSliced(policySteps(raw), budgetMs);
}

/**
 * Validates a parsed policy document and fills the defaults (`default_action` deny, `egress` empty).
 * @throws PolicyError naming the first offending field; the message lists up to five problems.
 */
export function validatePolicy(value: unknown): NetworkPolicy {
  return runSync(validateSteps(value));
}

/**
 * The steps of {@link validatePolicy}: the document's shape first (top-level fields, `egress` an array of
 * at most {@link MAX_RULES}), then each rule against the rule schema and the 253-character limit of a DNS
 * name, yielding every {@link RULES_PER_STEP} rules. Stops at the fifth problem.
 * @throws PolicyError naming the first offending field (`default_action`, `egress[9999].target`).
 */
export function* validateSteps(value: unknown): Generator<void, NetworkPolicy> {
  if (!validateDocument(value)) throw problems((validateDocument.errors ?? []).map(describeError));
  const doc = value as { default_action?: Action; egress?: unknown[] };
  const rules = doc.egress ?? [];
  const found: Problem[] = [];
  for (let i = 0; i < rules.length && found.length < MAX_LISTED_PROBLEMS; i++) {
    if (i % RULES_PER_STEP === RULES_PER_STEP - 1) yield;
    const rule = rules[i];
    if (!validateRule(rule)) {
      const prefix = `/egress/${i}`;
      for (const e of validateRule.errors ?? []) found.push(describeError({ ...e, instancePath: prefix + e.instancePath }));
      continue;
    }
    const target = (rule as EgressRule).target;
    const bare = target.replace(/^\*\./, '').replace(/\.$/, '');
    if (bare.length > 253) found.push({ field: `egress[${i}].target`, message: `egress[${i}].target: the domain is ${bare.length} characters long; DNS names have at most 253` });
  }
  if (found.length > 0) throw problems(found);
  // Each rule is now exactly {action, target}: the parsed array is the policy's (no copy of 10 000 objects).
  return { default_action: doc.default_action ?? 'deny', egress: rules as EgressRule[] };
}

/** One problem of a policy: the field and its message. */
interface Problem {
  readonly field: string;
  readonly message: string;
}

function problems(found: readonly Problem[]): PolicyError {
  const first = found[0];
  return new PolicyError(first?.field ?? 'body', `invalid policy: ${found.slice(0, MAX_LISTED_PROBLEMS).map((p) => p.message).join('; ')}`);
}

function describeError(e: ErrorObject): Problem {
  return { field: fieldOf(e), message: describe(e) };
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

/** The outcome of evaluating one name; one object per rule, made the first time the rule decides, so evaluation does not allocate after that. */
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
 * The rules of a policy indexed for lookups: exact names in one Map and `*.domain` wildcards by their
 * suffix in another, each to the lowest index of a rule naming it. Built by {@link compileSteps}; held
 * by a {@link CompiledPolicy}.
 */
export interface RuleIndex {
  readonly exact: ReadonlyMap<string, number>;
  readonly wildcard: ReadonlyMap<string, number>;
}

/**
 * The steps of indexing a policy's rules ({@link RuleIndex}), yielding every {@link RULES_PER_STEP} rules
 * so that {@link runSliced} can spread a 10 000-rule policy over several turns of the event loop. Only the
 * two Maps are built: the fewer objects an apply allocates, the shorter the garbage collector's pauses.
 */
export function* compileSteps(policy: NetworkPolicy): Generator<void, RuleIndex> {
  const exact = new Map<string, number>();
  const wildcard = new Map<string, number>();
  const rules = policy.egress;
  for (let i = 0; i < rules.length; i++) {
    if (i % RULES_PER_STEP === RULES_PER_STEP - 1) yield;
    const t = normalizeName((rules[i] as EgressRule).target);
    if (t.startsWith('*.')) {
      const key = t.slice(2);
      if (!wildcard.has(key)) wildcard.set(key, i);
    } else if (!exact.has(t)) exact.set(t, i);
  }
  return { exact, wildcard };
}

/**
 * Names whose decisions a {@link CompiledPolicy} keeps: the names a sandbox asks for again and again fit
 * many times over; a flood of distinct names empties the memo each time it fills. At most 4096 names (of at
 * most 1020 characters each; typically a few hundred KiB in all) and their entries.
 */
const DECISION_MEMO_SIZE = 4096;

/**
 * A policy compiled for lookups: pinned names first, then the lowest-index rule among the exact match
 * and every wildcard matching a parent of the name, else `default_action`. Names are compared
 * lowercased without the trailing dot; `*.example.com` matches `a.example.com` and `a.b.example.com`
 * but not `example.com`. A lookup costs one Map read per label of the name, whatever the number of rules
 * (no scan of the rules).
 */
export class CompiledPolicy {
  readonly policy: NetworkPolicy;
  private readonly exact: ReadonlyMap<string, number>;
  private readonly wildcard: ReadonlyMap<string, number>;
  /** The decision of each rule, made the first time the rule decides a query and kept (one allocation per rule). */
  private readonly decisions: (Decision | undefined)[] = [];
  private readonly fallback: Decision;
  private readonly pinned = new Map<string, Decision>();
  /** Names decided recently, to their decisions (see {@link evaluate}); this policy's only, as a policy never changes. */
  private readonly memo = new Map<string, Decision>();

  /**
   * @param index the rules already indexed (by {@link compilePolicy}, in slices); without it they are
   *   indexed here, in one go.
   */
  constructor(policy: NetworkPolicy, pinned: readonly PinnedName[] = [], index: RuleIndex = runSync(compileSteps(policy))) {
    this.policy = policy;
    this.exact = index.exact;
    this.wildcard = index.wildcard;
    this.fallback = Object.freeze({ allowed: policy.default_action === 'allow', rule: `default_action ${policy.default_action}` });
    for (const p of pinned) this.pinned.set(normalizeName(p.name), Object.freeze({ allowed: true, rule: `always-allowed ${p.why}` }));
  }

  /**
   * Decides one query name (as read by `parseQuery`: lowercased, no trailing dot). A name decided before
   * under this policy is answered from a memo of up to {@link DECISION_MEMO_SIZE} names (one Map lookup;
   * `parseQuery` hands back the same string for a recent name, whose hash V8 keeps), emptied when full.
   */
  evaluate(name: string): Decision {
    const memo = this.memo;
    const known = memo.get(name);
    if (known !== undefined) return known;
    const d = this.lookup(name);
    if (memo.size >= DECISION_MEMO_SIZE) memo.clear();
    memo.set(name, d);
    return d;
  }

  /** {@link evaluate} without the memo: pinned names, then the rules' index, then the default. */
  private lookup(name: string): Decision {
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
    return best === Number.MAX_SAFE_INTEGER ? this.fallback : (this.decisions[best] ?? this.decide(best));
  }

  private decide(i: number): Decision {
    const r = this.policy.egress[i] as EgressRule;
    const d = Object.freeze({ allowed: r.action === 'allow', rule: `egress[${i}] ${r.action} ${r.target}` });
    this.decisions[i] = d;
    return d;
  }
}

/**
 * Compiles `policy` in slices of about `budgetMs` milliseconds, yielding to the event loop between them
 * (see {@link runSliced}): what `POST /policy` uses, so that DNS keeps answering while a large policy is
 * indexed. The result is whole or nothing; nothing is in force until the caller swaps it in.
 */
export async function compilePolicy(policy: NetworkPolicy, pinned: readonly PinnedName[] = [], budgetMs = SLICE_BUDGET_MS): Promise<CompiledPolicy> {
  return new CompiledPolicy(policy, pinned, await runSliced(compileSteps(policy), budgetMs));
}

/** Lowercases a name and strips one trailing dot. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * The policy in force. A new policy is compiled aside ({@link compile}) while the old one keeps deciding,
 * then swapped in with one assignment ({@link replace}): a query sees the old policy or the new one,
 * never a mix. Listeners run after each replacement (rule-count gauge, update counter).
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

  /** Compiles `policy` with this sidecar's pinned names, in slices ({@link compilePolicy}); changes nothing in force. */
  compile(policy: NetworkPolicy, budgetMs = SLICE_BUDGET_MS): Promise<CompiledPolicy> {
    return compilePolicy(policy, this.pinned, budgetMs);
  }

  /** Puts `next` (from {@link compile}) in force at once and tells the listeners. */
  replace(next: CompiledPolicy): void {
    this.compiled = next;
    for (const l of this.listeners) l(next.policy);
  }

  /** Runs `listener` after every replacement. */
  onChange(listener: (p: NetworkPolicy) => void): void {
    this.listeners.push(listener);
  }
}

/** Variable holding the initial policy as JSON (limited by the kernel's argument size to some 128 KiB). */
export const POLICY_ENV = 'OPENSANDBOX_NETWORK_POLICY';
/** Variable holding the path of a JSON file with the initial policy (for policies too large for {@link POLICY_ENV}). */
export const POLICY_FILE_ENV = 'OPENSANDBOX_NETWORK_POLICY_FILE';
/** Largest policy file read, in bytes: the same bound as a `POST /policy` body (8 MiB). */
export const MAX_POLICY_FILE_BYTES = 8 * 1024 * 1024;

/**
 * The initial policy: from the file named by `OPENSANDBOX_NETWORK_POLICY_FILE`, or from the JSON in
 * `OPENSANDBOX_NETWORK_POLICY`; neither (unset or blank) means allow-all. Read once, at start-up, in one go.
 * @throws SidecarConfigError naming `OPENSANDBOX_NETWORK_POLICY_FILE` and what to do when both variables
 *   are set, or the file is missing, unreadable, not a regular file, empty or over {@link MAX_POLICY_FILE_BYTES};
 *   PolicyError naming the variable (and the file) and the field when the policy itself is invalid.
 */
export function initialPolicy(env: NodeJS.ProcessEnv): NetworkPolicy {
  const inline = env[POLICY_ENV];
  const path = env[POLICY_FILE_ENV];
  const hasInline = inline !== undefined && inline.trim() !== '';
  if (path !== undefined && path.trim() !== '') {
    if (hasInline) throw new SidecarConfigError(`${POLICY_ENV} and ${POLICY_FILE_ENV} are both set; set only one (the file for large policies)`);
    return policyFromFile(path.trim());
  }
  if (!hasInline) return ALLOW_ALL;
  try {
    return parsePolicy(inline);
  } catch (e) {
    const err = e as PolicyError;
    throw new PolicyError(err.field, `${POLICY_ENV}: ${err.message}; fix the variable or unset it to allow all`);
  }
}

/** Reads and parses the policy file of {@link initialPolicy}. */
function policyFromFile(path: string): NetworkPolicy {
  const what = `${POLICY_FILE_ENV}=${path}`;
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new SidecarConfigError(`${what}: not a regular file; point it at a JSON policy file or unset it`);
    if (st.size > MAX_POLICY_FILE_BYTES) throw new SidecarConfigError(`${what}: ${st.size} bytes, more than ${MAX_POLICY_FILE_BYTES} (8 MiB); a policy holds at most ${MAX_RULES} rules`);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (e instanceof SidecarConfigError) throw e;
    throw new SidecarConfigError(`${what}: cannot read the policy file (${(e as Error).message}); fix the path or its permissions, or unset ${POLICY_FILE_ENV}`);
  }
  if (text.trim() === '') throw new SidecarConfigError(`${what}: the file is empty; write a policy such as {"default_action":"deny","egress":[]} into it, or unset ${POLICY_FILE_ENV} to allow all`);
  try {
    return parsePolicy(text);
  } catch (e) {
    const err = e as PolicyError;
    throw new PolicyError(err.field, `${what}: ${err.message}; fix the file or unset ${POLICY_FILE_ENV}`);
  }
}
