import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Recorders } from '../../instrumentation/recorders.ts';
import type { egress } from '../../semconv/generated/egress.ts';
import type { self } from '../../semconv/generated/self.ts';
import { buildErrorResponse, parseQuery, RCODE, type QueryInfo } from './dns-wire.ts';
import type { Forwarder, ForwardFailure, ForwardSink } from './forwarder.ts';
import type { ActivePolicy } from './policy.ts';

/**
 * What happens to one DNS message, whatever the transport (seed 000 §1 and §4):
 * - not a well-formed query: dropped without an answer, `otel_contracts_dns_packets_dropped_total{reason}`;
 * - denied by the policy: NXDOMAIN, `dns_queries_total{result="denied"}`, `violations_total{type="dns_deny"}`
 *   and a pino warn line with the domain, the client address and the deciding rule;
 * - allowed: forwarded; on an answer `dns_forward_duration_seconds` and `result="allowed"` (an upstream
 *   SERVFAIL is relayed and counted `forward_error`); on a timeout or refusal SERVFAIL and `forward_error`.
 */

/** Who sent a query, and how to answer it. */
export interface DnsClient {
  readonly address: string;
  readonly port: number;
  readonly transport: 'udp' | 'tcp';
  /** Sends an answer back over the client's transport; a no-op once the listener is closed. */
  reply(response: Buffer): void;
}

/** Called with an allowed answer before it is sent (dns+nft: put its addresses in the allow set). */
export type AnswerHook = (response: Buffer) => Promise<void> | undefined;

/** Options of {@link Resolver}. */
export interface ResolverOptions {
  readonly policy: ActivePolicy;
  readonly forwarder: Forwarder;
  readonly metrics: Recorders<typeof egress>;
  readonly selfMetrics: Recorders<typeof self>;
  readonly logger: Logger;
  readonly onAllowedAnswer?: AnswerHook;
}

/** Longest wait for the allowed-answer hook (dns+nft: the allow-set update) before the answer is sent anyway, in milliseconds. */
const ANSWER_HOOK_TIMEOUT_MS = 500;
/** Violation log lines per second before they are summarised. */
const VIOLATION_LOGS_PER_SECOND = 50;

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
  private hookTimeouts = 0;
  private logWindow = 0;
  private logged = 0;
  private suppressed = 0;

  constructor(opts: ResolverOptions) {
    this.o = opts;
  }

  /** Answers sent before the allowed-answer hook finished, because it took longer than its bound (the first is logged). */
  get slowHookAnswers(): number {
    return this.hookTimeouts;
  }

  /** Counts a packet dropped without an answer. */
  drop(reason: keyof typeof DROP): void {
    this.o.selfMetrics.otel_contracts_dns_packets_dropped_total.add(1, DROP[reason]);
  }

  /**
   * Handles one message. `client.reply` is called exactly once when this returns true, with the answer
   * to send (id = the client's); never when it returns false (the message was dropped and counted).
   * Never throws for bad input.
   */
  handle(message: Buffer, client: DnsClient): boolean {
    const q = parseQuery(message);
    if (typeof q === 'string') {
      this.drop(q);
      return false;
    }
    const decision = this.o.policy.current.evaluate(q.name);
    if (!decision.allowed) {
      client.reply(buildErrorResponse(message, q, RCODE.NXDOMAIN));
      this.o.metrics.opensandbox_egress_dns_queries_total.add(1, DENIED);
      this.o.metrics.opensandbox_egress_violations_total.add(1, DNS_DENY);
      this.logViolation(q, client, decision.rule);
      return true;
    }
    const limit = client.transport === 'udp' ? q.udpPayload : TCP_MAX_RESPONSE;
    const inFlight = new InFlight(this, message, q, client);
    this.o.forwarder.forward(message, q, limit, inFlight, inFlight.t0);
    return true;
  }

  /**
   * An allowed query was answered by an upstream (called by {@link InFlight}). Without a hook (dns mode)
   * the answer goes out first and is recorded right after, in the same turn: the duration is taken before
   * the reply, and nothing can read the metrics in between.
   */
  answered(f: InFlight, response: Buffer, rcode: number): void {
    const seconds = (performance.now() - f.t0) / 1000;
    const onAnswer = this.o.onAllowedAnswer;
    if (onAnswer === undefined) f.client.reply(response);
    this.o.metrics.opensandbox_egress_dns_forward_duration_seconds.record(seconds);
    this.o.metrics.opensandbox_egress_dns_queries_total.add(1, rcode === RCODE.SERVFAIL ? FORWARD_ERROR : ALLOWED);
    if (onAnswer === undefined) return;
    const hook = onAnswer(response);
    if (hook === undefined) return f.client.reply(response);
    let sent = false;
    const send = () => {
      if (sent) return;
      sent = true;
      clearTimeout(timer);
      f.client.reply(response);
    };
    const timer = setTimeout(() => {
      if (this.hookTimeouts++ === 0) {
        this.o.logger.warn({ domain: f.q.name, timeoutMs: ANSWER_HOOK_TIMEOUT_MS }, 'allowed-answer hook (nftables allow set) slower than its bound; answering anyway (logged once; counted in slowHookAnswers)');
      }
      send();
    }, ANSWER_HOOK_TIMEOUT_MS);
    hook.then(send, (err: unknown) => {
      this.o.logger.warn({ err, domain: f.q.name }, 'allowed-answer hook failed; answering anyway');
      send();
    });
  }

  /** An allowed query got no usable answer: SERVFAIL (called by {@link InFlight}). */
  failed(f: InFlight, reason: ForwardFailure, detail: string): void {
    f.client.reply(buildErrorResponse(f.message, f.q, RCODE.SERVFAIL));
    this.o.metrics.opensandbox_egress_dns_queries_total.add(1, FORWARD_ERROR);
    this.o.logger.debug({ domain: f.q.name, client: f.client.address, reason, detail }, 'upstream DNS failed; answered SERVFAIL');
  }

  private logViolation(q: QueryInfo, client: DnsClient, rule: string): void {
    const second = Math.floor(performance.now() / 1000);
    if (second !== this.logWindow) {
      if (this.suppressed > 0) {
        this.o.logger.warn({ suppressed: this.suppressed }, `egress violation log lines suppressed: more than ${VIOLATION_LOGS_PER_SECOND} per second (all are counted in opensandbox_egress_violations_total)`);
      }
      this.logWindow = second;
      this.logged = 0;
      this.suppressed = 0;
    }
    if (this.logged >= VIOLATION_LOGS_PER_SECOND) {
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

/** One allowed query on its way upstream: the forwarder's sink, one allocation per query. */
class InFlight implements ForwardSink {
  readonly resolver: Resolver;
  readonly message: Buffer;
  readonly q: QueryInfo;
  readonly client: DnsClient;
  readonly t0 = performance.now();

  constructor(resolver: Resolver, message: Buffer, q: QueryInfo, client: DnsClient) {
    this.resolver = resolver;
    this.message = message;
    this.q = q;
    this.client = client;
  }

  answered(response: Buffer, rcode: number): void {
    this.resolver.answered(this, response, rcode);
  }

  failed(reason: ForwardFailure, detail: string): void {
    this.resolver.failed(this, reason, detail);
  }
}
