// What the relay domain reports as it works; the metrics module listens. Keeps the domain free
// of any metrics library and keeps labels bounded (reasons are catalogue codes, never keys).
import type { ErrorCode } from './errors.js';
import type { ExpiryCounts } from '../store/types.js';

/** Compute-node lifecycle events, as operators read them in the log. */
export const NODE_EVENTS = ['registered', 'renewed', 'evicted', 'unregistered', 'expired'] as const;
export type NodeEventKind = (typeof NODE_EVENTS)[number];

/**
 * One lifecycle event of a compute node (or, where a backend reports counts only, of `count`
 * nodes). Never the key: its fingerprint (src/core/fingerprint.ts) names it.
 */
export interface NodeEvent {
  event: NodeEventKind;
  protocol: 'legacy' | 'v1';
  /** null: the backend reported how many nodes, not which (`count`). */
  fingerprint: string | null;
  label: string | null;
  /** The node's source as the rate limits key it (addressLimitKey), when known. */
  source: string | null;
  /** evicted/expired: why (a fixed set). */
  reason?: string;
  /** renewed: how long the node had been silent. */
  silentMs?: number;
  /** Nodes this event stands for (1 unless fingerprint is null). */
  count: number;
}

export interface RelayObserver {
  /** A queued request was handed to a compute node after waiting `ms`. */
  pickedUp(ms: number): void;
  /** A client received the answer `ms` after its request was accepted. */
  turnaround(ms: number): void;
  /** A request was refused for a reason in the error catalogue. */
  rejected(reason: ErrorCode): void;
  expired(counts: ExpiryCounts): void;
  /** A compute node registered, came back after a silence, left or was removed. */
  node(event: NodeEvent): void;
}

export const silentObserver: RelayObserver = {
  pickedUp: () => {},
  turnaround: () => {},
  rejected: () => {},
  expired: () => {},
  node: () => {},
};
