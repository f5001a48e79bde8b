// The compute-node registration token (X-Relay-Server-Token). Checked before the body is
// parsed. Any configured token matches (rotation); comparison is constant-time on digests, so
// neither content nor length leaks, and odd bytes (non-ASCII, huge values) are simply a 401.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestHookHandler } from 'fastify';
import { RelayError } from '../core/errors.js';

const MAX_HEADER_CHARS = 1024;

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'latin1').digest();
}

export function makeServerTokenCheck(tokens: readonly string[]): (header: string | string[] | undefined) => void {
  const expected = tokens.map(digest);
  return (header) => {
    if (expected.length === 0) return;
    const presented = typeof header === 'string' ? header.trim() : '';
    let ok = false;
    if (presented.length > 0 && presented.length <= MAX_HEADER_CHARS) {
      const got = digest(presented);
      for (const want of expected) ok = timingSafeEqual(got, want) || ok;
    }
    if (!ok) throw new RelayError('invalid_server_token');
  };
}

/**
 * The route options that check the token before the body is read: a callback-style onRequest
 * hook (no promise per request), and none at all when no token is configured (the check would
 * pass every request anyway).
 */
export function serverTokenHook(tokens: readonly string[]): { onRequest?: onRequestHookHandler } {
  if (tokens.length === 0) return {};
  const check = makeServerTokenCheck(tokens);
  return {
    onRequest: (request, _reply, done) => {
      try {
        check(request.headers['x-relay-server-token']);
      } catch (err) {
        done(err as Error);
        return;
      }
      done();
    },
  };
}
