// The short name of a public key that logs, diagnostics, the ops page, the chat page and the demo
// node all show: the first 12 hex digits of SHA-256 over the key exactly as the relay receives it
// (its wire text). Long enough to tell a home's nodes apart, short enough for a table; a public key
// is no secret, so neither is this.
import { createHash } from 'node:crypto';

export const FINGERPRINT_HEX_DIGITS = 12;

export function keyFingerprint(wireKey: string): string {
  return createHash('sha256').update(wireKey).digest('hex').slice(0, FINGERPRINT_HEX_DIGITS);
}
