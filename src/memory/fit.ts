// The byte cap must fit the pod (invariant 1: the caps fit inside the container's memory limit).
// At start the relay reads its cgroup memory limit and V8's heap limit; when the configured byte
// cap plus the overhead of the configured entry caps could exceed either, it lowers the byte cap
// to fit and logs what it chose.
//
// The estimate (bench/results/2026-11-27.md, memory store): RSS grows 2.77 KB per entry held
// (request or response with a typical ~1.8 KB payload), counted here as 2.8 KB of overhead per
// entry *on top of* the byte cap, which the payload bytes already count: conservative. A fixed
// base of 80 MiB covers the runtime, the code and an empty heap (the relay starts at ~80 MB
// RSS). Rate-limit buckets (memory counter) are estimated at 256 bytes each.
//
// Only the memory store holds its entries in this process; with the Redis store the entries live
// in Redis (the relay's own memory is the base and its sockets), so nothing is lowered.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const PER_ENTRY_BYTES = 2800;
export const BASE_BYTES = 80 * 1024 * 1024;
export const PER_RATE_KEY_BYTES = 256;
/** The byte cap is never lowered below this; below it the entry caps themselves do not fit. */
export const MIN_STORED_BYTES = 1024 * 1024;
/** cgroup v1 reports "no limit" as a number near 2^63; anything from 2^60 on is no limit. */
const UNLIMITED_FROM = 2 ** 60;

/** The cgroup memory limit in bytes (v2 memory.max, else v1 memory.limit_in_bytes), or null for none / unreadable. */
export function readCgroupMemoryLimit(dir: string, read: (path: string) => string = (path) => readFileSync(path, 'utf8')): number | null {
  for (const path of [join(dir, 'memory.max'), join(dir, 'memory', 'memory.limit_in_bytes')]) {
    let text: string;
    try {
      text = read(path).trim();
    } catch {
      continue;
    }
    if (text === 'max') return null;
    if (!/^\d+$/.test(text)) continue;
    const value = Number(text);
    return value >= UNLIMITED_FROM ? null : value;
  }
  return null;
}

export interface MemoryInputs {
  /** The cgroup limit, null when there is none. */
  limitBytes: number | null;
  /** V8's heap_size_limit (the memory store's entries live on the heap). */
  heapLimitBytes: number;
  maxStoredBytes: number;
  /** Sum of the entry caps the memory store may hold at once. */
  entries: number;
  rateLimitKeys: number;
  storeHoldsEntries: boolean;
}

export interface MemoryPlan {
  limitBytes: number | null;
  heapLimitBytes: number;
  configuredStoredBytes: number;
  chosenStoredBytes: number;
  /** What the entries and the base are expected to take besides the stored bytes. */
  overheadBytes: number;
  lowered: boolean;
  /** The entry caps alone (with the base) exceed the memory available: lower them. */
  entryCapsTooLarge: boolean;
}

/** Pure: the byte cap that fits both the cgroup limit and the heap limit. */
export function fitByteCap(inputs: MemoryInputs): MemoryPlan {
  const overhead = BASE_BYTES + inputs.entries * PER_ENTRY_BYTES + inputs.rateLimitKeys * PER_RATE_KEY_BYTES;
  const plan = { limitBytes: inputs.limitBytes, heapLimitBytes: inputs.heapLimitBytes, configuredStoredBytes: inputs.maxStoredBytes, overheadBytes: overhead };
  if (!inputs.storeHoldsEntries) return { ...plan, chosenStoredBytes: inputs.maxStoredBytes, lowered: false, entryCapsTooLarge: false };
  const available = Math.min(inputs.limitBytes ?? Number.POSITIVE_INFINITY, inputs.heapLimitBytes);
  const room = available - overhead;
  if (room >= inputs.maxStoredBytes) return { ...plan, chosenStoredBytes: inputs.maxStoredBytes, lowered: false, entryCapsTooLarge: false };
  const chosen = Math.max(MIN_STORED_BYTES, Math.floor(room));
  return { ...plan, chosenStoredBytes: Math.min(chosen, inputs.maxStoredBytes), lowered: true, entryCapsTooLarge: room < MIN_STORED_BYTES };
}

/** The entry caps of a configuration (memory store): everything that is one record. */
export function entryCapsOf(config: {
  maxQueuedTotal: number;
  maxResponses: number;
  maxStreamSessions: number;
  maxNodes: number;
  v1MaxRequests: number;
  v1MaxTombstones: number;
}): number {
  return config.maxQueuedTotal + config.maxResponses + config.maxStreamSessions + config.maxNodes + config.v1MaxRequests + config.v1MaxTombstones;
}

/** The plan for a configuration on a process with this heap limit, in the container at `config.cgroupDir`. */
export function planFor(
  config: Parameters<typeof entryCapsOf>[0] & { cgroupDir: string; maxStoredBytes: number; rateLimit: boolean; rateLimitMaxKeys: number; store: string },
  heapLimitBytes: number,
): MemoryPlan {
  return fitByteCap({
    limitBytes: readCgroupMemoryLimit(config.cgroupDir),
    heapLimitBytes,
    maxStoredBytes: config.maxStoredBytes,
    entries: entryCapsOf(config),
    rateLimitKeys: config.rateLimit && config.store === 'memory' ? config.rateLimitMaxKeys : 0,
    storeHoldsEntries: config.store === 'memory',
  });
}
