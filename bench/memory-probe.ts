// A relay's memory split into parts: RSS and anonymous memory from /proc, and V8 heap, external
// and array-buffer bytes from bench/mem-probe.mjs (preloaded into the relay). What is left of RSS
// beyond the heap's committed pages and external memory is native: allocator arenas, code,
// thread stacks.
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface MemoryParts {
  rssMb: number;
  anonMb: number | null;
  heapUsedMb: number | null;
  heapTotalMb: number | null;
  externalMb: number | null;
  arrayBuffersMb: number | null;
  /** RSS − heapTotal − external: memory V8 does not account for. */
  nativeMb: number | null;
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

export async function memoryParts(pid: number, probeFile: string): Promise<MemoryParts> {
  await sleep(600); // the probe writes every 500 ms: read a fresh figure
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  let anonKb: number | null;
  try {
    anonKb = Number(/^Anonymous:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
  } catch {
    anonKb = null;
  }
  const probe = existsSync(probeFile) ? (JSON.parse(readFileSync(probeFile, 'utf8')) as Record<string, number>) : null;
  const rssMb = mb(rssKb * 1024);
  return {
    rssMb,
    anonMb: anonKb === null ? null : mb(anonKb * 1024),
    heapUsedMb: probe === null ? null : mb(probe.heapUsed!),
    heapTotalMb: probe === null ? null : mb(probe.heapTotal!),
    externalMb: probe === null ? null : mb(probe.external!),
    arrayBuffersMb: probe === null ? null : mb(probe.arrayBuffers!),
    nativeMb: probe === null ? null : Math.round((rssMb - mb(probe.heapTotal!) - mb(probe.external!)) * 10) / 10,
  };
}
