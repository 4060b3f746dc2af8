/**
 * The messages between a preloaded cluster primary and its workers, over Node's `cluster` IPC channel.
 * Every one carries `otelContracts` naming its kind; the app's own messages never do and are never looked at.
 */

/** Set by a preloaded primary in its environment (its pid), which `cluster.fork()` passes to workers. */
export const PRIMARY_ENV = 'OTEL_CONTRACTS_CLUSTER_PRIMARY';

/** Primary → worker: render your exposition and answer with request `id`. */
export interface CollectRequest {
  readonly otelContracts: 'collect';
  readonly id: number;
}

/** Worker → primary: the worker's exposition (Prometheus text) for request `id`. */
export interface CollectResponse {
  readonly otelContracts: 'exposition';
  readonly id: number;
  readonly text: string;
}

/** Whether a message is addressed to otel-contracts at all (the app's messages are not). */
export function isOurs(message: unknown): message is { otelContracts: unknown } {
  return typeof message === 'object' && message !== null && 'otelContracts' in message;
}

/** A {@link CollectRequest}, or undefined for anything else. */
export function asRequest(message: unknown): CollectRequest | undefined {
  const m = message as Partial<CollectRequest> | null;
  return isOurs(m) && m.otelContracts === 'collect' && Number.isSafeInteger(m.id) ? (m as CollectRequest) : undefined;
}

/** Largest exposition a worker may send (bytes of text); above it the message is malformed. */
export const MAX_EXPOSITION_CHARS = 64 * 2 ** 20;

/** A {@link CollectResponse}, or undefined when the message has the wrong shape. */
export function asResponse(message: unknown): CollectResponse | undefined {
  const m = message as Partial<CollectResponse> | null;
  return isOurs(m) && m.otelContracts === 'exposition' && Number.isSafeInteger(m.id) && typeof m.text === 'string' && m.text.length <= MAX_EXPOSITION_CHARS
    ? (m as CollectResponse)
    : undefined;
}
