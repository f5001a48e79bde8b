// Request ids: echo a sane X-Request-Id, otherwise 16 lowercase hex characters (8 random bytes,
// as relay.py). Random bytes are drawn from a pool refilled 4 KiB at a time: one crypto call
// per 512 requests instead of one per request, which showed up in profiles of /healthz.
import { randomFillSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const SANE = /^[\x21-\x7e]{1,128}$/;
const pool = Buffer.alloc(4096);
let offset = pool.length;

export function newRequestId(): string {
  if (offset + 8 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('hex', offset, offset + 8);
  offset += 8;
  return id;
}

export function requestIdFor(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE.test(given) ? given : newRequestId();
}
