import type { Logger } from 'pino';
import type { Recorders } from '../../instrumentation/recorders.ts';
import type { egress } from '../../semconv/generated/egress.ts';
import type { self } from '../../semconv/generated/self.ts';
import { buildErrorResponse, parseQuery, RCODE, type QueryInfo } from './dns-wire.ts';
import type { Forwarder, ForwardOutcome } from './forwarder.ts';
import type { ActivePolicy } from './policy.ts';

/**
 * What happens to one DNS message, whatever the transport (seed 000 §1 and §4):
 * - not a well-formed query: dropped without an answer, `otel_contracts_dns_packets_dropped_total{reason}`;
 * - denied by the policy: NXDOMAIN, `dns_queries_total{result="denied"}`, `violations_total{type="dns_deny"}`
 *   and a pino warn line with the domain, the client address and the deciding rule;
 * - allowed: forwarded; on an answer `dns_forward_duration_seconds` and `result="allowed"` (an upstream
 *   SERVFAIL is relayed and counted `forward_error`); on a timeout or refusal SERVFAIL and `forward_error`.
 */

/** Who sent a query. */
export interface DnsClient {
  readonly address: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
}

/** Called with an allowed answer before it is sent (dns+nft: put its addresses in the allow set). */
export type AnswerHook = (name: string, response: Buffer) => Promise<void> | undefined;

/** Options of {@link Resolver}. */
export interface ResolverOptions {
  readonly policy: ActivePolicy;
  readonly forwarder: Forwarder;
  readonly metrics: Recorders<typeof egress>;
  readonly selfMetrics: Recorders<typeof self>;
  readonly logger: Logger;
  readonly onAllowedAnswer?: AnswerHook;
  /** Violation log lines per second before they are summarised (default 50). */
  readonly violationLogsPerSecond?: number;
}

const ALLOWED = { result: 'allowed' } as const;
const DENIED = { result: 'denied' } as const;
const FORWARD_ERROR = { result: 'forward_error' } as const;
const DNS_DENY = { type: 'dns_deny' } as const;
const DROP = {
  malformed: { reason: 'malformed' },
  oversized: { reason: 'oversized' },
  not_a_query: { reason: 'not_a_query' },
  unmatched_response: { reason: 'unmatched_response' },
} as const;

/** Largest response over TCP. */
const TCP_MAX_RESPONSE = 65_535;

/** Handles DNS messages: parse by hand, decide, answer or forward, record. */
export class Resolver {
  private readonly o: ResolverOptions;
  private readonly logBudget: number;
  private logWindow = 0;
  private logged = 0;
  private suppressed = 0;

  constructor(opts: ResolverOptions) {
    this.o = opts;
    this.logBudget = opts.violationLogsPerSecond ?? 50;
  }

  /** Counts a packet dropped without an answer. */
  drop(reason: keyof typeof DROP): void {
    this.o.selfMetrics.otel_contracts_dns_packets_dropped_total.add(1, DROP[reason]);
  }

  /**
   * Handles one message. `reply` is called exactly once when this returns true, with the answer to send
   * (id = the client's); never when it returns false (the message was dropped and counted).
   * Never throws for bad input.
   */
  handle(message: Buffer, client: DnsClient, reply: (response: Buffer) => void): boolean {
    const q = parseQuery(message);
    if (typeof q === 'string') {
      this.drop(q);
      return false;
    }
    const decision = this.o.policy.current.evaluate(q.name);
    const m = this.o.metrics;
    if (!decision.allowed) {
      reply(buildErrorResponse(message, q, RCODE.NXDOMAIN));
      m.opensandbox_egress_dns_queries_total.add(1, DENIED);
      m.opensandbox_egress_violations_total.add(1, DNS_DENY);
      this.logViolation(q, client, decision.rule);
      return true;
    }
    const t0 = performance.now();
    const limit = client.transport === 'udp' ? q.udpPayload : TCP_MAX_RESPONSE;
    this.o.forwarder.forward(message, q, limit, (outcome) => this.answered(outcome, message, q, client, t0, reply));
    return true;
  }

  private answered(outcome: ForwardOutcome, message: Buffer, q: QueryInfo, client: DnsClient, t0: number, reply: (r: Buffer) => void): void {
    const m = this.o.metrics;
    if (!outcome.ok) {
      reply(buildErrorResponse(message, q, RCODE.SERVFAIL));
      m.opensandbox_egress_dns_queries_total.add(1, FORWARD_ERROR);
      this.o.logger.debug({ domain: q.name, client: client.address, reason: outcome.reason, detail: outcome.detail }, 'upstream DNS failed; answered SERVFAIL');
      return;
    }
    m.opensandbox_egress_dns_forward_duration_seconds.record((performance.now() - t0) / 1000);
    m.opensandbox_egress_dns_queries_total.add(1, outcome.rcode === RCODE.SERVFAIL ? FORWARD_ERROR : ALLOWED);
    const hook = this.o.onAllowedAnswer?.(q.name, outcome.response);
    if (hook === undefined) return reply(outcome.response);
    hook.then(
      () => reply(outcome.response),
      (err: unknown) => {
        this.o.logger.warn({ err, domain: q.name }, 'allowed-answer hook failed; answering anyway');
        reply(outcome.response);
      },
    );
  }

  private logViolation(q: QueryInfo, client: DnsClient, rule: string): void {
    const second = Math.floor(performance.now() / 1000);
    if (second !== this.logWindow) {
      if (this.suppressed > 0) {
        this.o.logger.warn({ suppressed: this.suppressed }, `egress violation log lines suppressed: more than ${this.logBudget} per second (all are counted in opensandbox_egress_violations_total)`);
      }
      this.logWindow = second;
      this.logged = 0;
      this.suppressed = 0;
    }
    if (this.logged >= this.logBudget) {
      this.suppressed++;
      return;
    }
    this.logged++;
    this.o.logger.warn(
      { violation: 'dns_deny', domain: q.name, qtype: q.qtype, client: `${client.address}:${client.port}`, transport: client.transport, rule },
      'egress violation: DNS query denied by policy, answered NXDOMAIN',
    );
  }
}
