// The compute-node registration token (X-Relay-Server-Token). Checked before the body is
// parsed. Any configured token matches (rotation); comparison is constant-time on digests, so
// neither content nor length leaks, and odd bytes (non-ASCII, huge values) are simply a 401.
import { createHash, timingSafeEqual } from 'node:crypto';
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
