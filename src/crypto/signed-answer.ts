// Signed answers and streamed snapshots (README "Signed answers and streaming"): a node that
// advertises `answer_signing` signs, with the RSA key it registered, a byte string that binds the
// text to this request, this client and this node. The signature travels inside the encrypted
// payload, so the relay carries it without knowing it is there.
//
// The signed bytes are a sequence of fields, each as a 4-byte big-endian length and its UTF-8
// bytes, after the magic "tokenplace-signed-text-v1\n". Length prefixes (not JSON) so that every
// implementation produces the same bytes without a canonical JSON encoder; the `purpose` field
// keeps a snapshot signature from passing as the signature of a final answer (a cut-short
// snapshot must never verify as the whole answer).
import { constants, createPrivateKey, sign, verify, type KeyObject } from 'node:crypto';
import { fromBase64, importPublicKey, toBase64 } from './hybrid.js';

export const SIGNED_TEXT_MAGIC = 'tokenplace-signed-text-v1\n';
export const SIGNING_SCHEMES = ['rsa-pss-sha256', 'rsassa-pkcs1v15-sha256'] as const;
export type SigningScheme = (typeof SIGNING_SCHEMES)[number];
/** PSS salt length: the digest length, the choice WebCrypto callers make. */
export const PSS_SALT_BYTES = 32;

export interface SignedTextFields {
  /** The envelope's protocol string, e.g. tokenplace_api_v1_relay_e2ee. */
  protocol: string;
  /** 'answer' for the final answer, 'snapshot' for a streamed record. */
  purpose: 'answer' | 'snapshot';
  requestId: string;
  /** Wire form (base64 of PEM) exactly as the envelope carries it. */
  clientPublicKey: string;
  /** Wire form exactly as the node registered it. */
  serverPublicKey: string;
  /** 0 for the final answer; the record's sequence for a snapshot. */
  sequence: number;
  /** The answer's finish_reason ('' when none, and for snapshots). */
  finishReason: string;
  /** The exact text: the answer's message.content, or the snapshot's text so far. */
  text: string;
}

/** `{alg, signature}` as it travels in the envelope (`api_v1_signature`, `api_v1_stream.signature`). */
export interface TextSignature {
  alg: SigningScheme;
  signature: string;
}

export function isSigningScheme(value: unknown): value is SigningScheme {
  return typeof value === 'string' && (SIGNING_SCHEMES as readonly string[]).includes(value);
}

/** The bytes a signature covers. */
export function signedTextBytes(f: SignedTextFields): Buffer {
  if (!Number.isSafeInteger(f.sequence) || f.sequence < 0) throw new RangeError('sequence must be a non-negative integer');
  const parts = [f.protocol, f.purpose, f.requestId, f.clientPublicKey, f.serverPublicKey, String(f.sequence), f.finishReason, f.text].map((s) =>
    Buffer.from(s, 'utf8'),
  );
  const out: Buffer[] = [Buffer.from(SIGNED_TEXT_MAGIC, 'utf8')];
  for (const p of parts) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(p.length);
    out.push(len, p);
  }
  return Buffer.concat(out);
}

function padding(alg: SigningScheme): { padding: number; saltLength?: number } {
  return alg === 'rsa-pss-sha256' ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_BYTES } : { padding: constants.RSA_PKCS1_PADDING };
}

/** Signs with the node's private key (PKCS#8 PEM or KeyObject). */
export function signText(f: SignedTextFields, privateKey: string | KeyObject, alg: SigningScheme = 'rsa-pss-sha256'): TextSignature {
  const key = typeof privateKey === 'string' ? createPrivateKey({ key: privateKey, format: 'pem' }) : privateKey;
  return { alg, signature: toBase64(sign('sha256', signedTextBytes(f), { key, ...padding(alg) })) };
}

/** True only for a well-formed signature by `serverPublicKey` (wire form) over these fields. */
export function verifyText(f: SignedTextFields, sig: unknown): boolean {
  if (sig === null || typeof sig !== 'object') return false;
  const { alg, signature } = sig as Record<string, unknown>;
  if (!isSigningScheme(alg) || typeof signature !== 'string') return false;
  try {
    const key = importPublicKey(f.serverPublicKey);
    return verify('sha256', signedTextBytes(f), { key, ...padding(alg) }, fromBase64(signature, 'signature'));
  } catch {
    return false;
  }
}
