// The door check for a legacy stream chunk (/stream/source): a chunk is any JSON value, stored as
// its JSON text and handed back verbatim, so the store holds exactly the bytes it counts and no
// later serialisation of a stored chunk can fail. Depth is checked first, without recursion, so
// hostile nesting costs one bounded walk and never a stack overflow.
import { RelayError } from '../../core/errors.js';

export interface ChunkLimits {
  maxChunkBytes: number;
  maxChunkDepth: number;
}

/** Nesting depth of a parsed JSON value, stopping as soon as it passes `limit`. */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > limit) return true;
    const children = Array.isArray(item) ? item : Object.values(item as Record<string, unknown>);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}

/** The chunk's JSON text, or a catalogued refusal (chunk_too_deep 400, chunk_too_large 413). */
export function chunkText(chunk: unknown, limits: ChunkLimits): string {
  if (jsonDepthExceeds(chunk, limits.maxChunkDepth)) throw new RelayError('chunk_too_deep', { field: 'chunk' });
  // `undefined` has no JSON form; a body can't carry it, but keep the store total anyway.
  const text = JSON.stringify(chunk) ?? 'null';
  if (Buffer.byteLength(text, 'utf8') > limits.maxChunkBytes) throw new RelayError('chunk_too_large', { field: 'chunk' });
  return text;
}
