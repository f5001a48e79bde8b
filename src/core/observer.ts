// What the relay domain reports as it works; the metrics module listens. Keeps the domain free
// of any metrics library and keeps labels bounded (reasons are catalogue codes, never keys).
import type { ErrorCode } from './errors.js';
import type { ExpiryCounts } from '../store/types.js';

export interface RelayObserver {
  /** A queued request was handed to a compute node after waiting `ms`. */
  pickedUp(ms: number): void;
  /** A client received the answer `ms` after its request was accepted. */
  turnaround(ms: number): void;
  /** A request was refused for a reason in the error catalogue. */
  rejected(reason: ErrorCode): void;
  expired(counts: ExpiryCounts): void;
}

export const silentObserver: RelayObserver = {
  pickedUp: () => {},
  turnaround: () => {},
  rejected: () => {},
  expired: () => {},
};
