// The token.place end-to-end "hybrid" encryption, as spoken by the upstream Python peers.
//
//  * Keys: RSA-2048, e = 65537. The wire form of a public key is the standard base64 (with
//    padding) of the ASCII PEM text of its SubjectPublicKeyInfo.
//  * A message: fresh AES-256 key K and 16-byte IV; AES-256-CBC with PKCS#7 over the UTF-8
//    bytes; K is wrapped with RSA. What RSA wraps is the ASCII text of base64(K) (44 bytes),
//    not the 32 raw bytes. Wrapping is RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) by
//    default; PKCS#1 v1.5 exists for peers that can only unwrap that.
//  * Decryption tries OAEP first and falls back to PKCS#1 v1.5, like the Python side. Node's
//    OpenSSL binding refuses PKCS#1 v1.5 private decryption (Marvin attack hardening), so that
//    one step goes through node-forge.
//
// There is no MAC and no signature in this scheme: CBC ciphertext is malleable and nothing
// authenticates the sender. That is the upstream protocol; the relay never sees keys or
// plaintext either way.
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCb,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import forge from 'node-forge';

export const RSA_BITS = 2048;
export const AES_KEY_BYTES = 32;
export const IV_BYTES = 16;

/** Ciphertext triple as carried by the relay (all standard base64). */
export interface HybridCiphertext {
  /** AES-256-CBC ciphertext (the relay field is `chat_history` or `ciphertext`). */
  ciphertext: string;
  /** RSA-wrapped ASCII base64 of the AES key. */
  cipherkey: string;
  iv: string;
}

export type KeyWrap = 'oaep' | 'pkcs1v15';

export interface KeyPair {
  /** base64 of the PEM text: what goes on the wire as `server_public_key` / `client_public_key`. */
  publicKeyWire: string;
  publicKeyPem: string;
  /** PKCS#8 PEM; never leaves the process. */
  privateKeyPem: string;
}

export class CryptoFormatError extends Error {
  override name = 'CryptoFormatError';
}

export class DecryptError extends Error {
  override name = 'DecryptError';
}

const STRICT_B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes standard base64; rejects anything that is not (whitespace is tolerated). */
export function fromBase64(value: string, what = 'value'): Buffer {
  if (typeof value !== 'string') throw new CryptoFormatError(`${what} must be a base64 string`);
  const compact = value.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !STRICT_B64.test(compact)) {
    throw new CryptoFormatError(`${what} is not valid base64`);
  }
  return Buffer.from(compact, 'base64');
}

export function toBase64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}

/** PEM text → wire form. */
export function pemToWire(pem: string): string {
  return Buffer.from(pem, 'ascii').toString('base64');
}

/** Wire form → PEM text. Throws CryptoFormatError when it is not a base64 public-key PEM. */
export function wireToPem(wire: string): string {
  const pem = fromBase64(wire, 'public key').toString('ascii');
  if (!pem.includes('-----BEGIN PUBLIC KEY-----')) {
    throw new CryptoFormatError('public key is not base64 of a PEM SubjectPublicKeyInfo');
  }
  return pem;
}

/** Accepts either the wire form or PEM text and returns a validated RSA public KeyObject. */
export function importPublicKey(key: string): KeyObject {
  const pem = key.includes('-----BEGIN') ? key : wireToPem(key);
  let obj: KeyObject;
  try {
    obj = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw new CryptoFormatError('public key PEM does not parse');
  }
  if (obj.asymmetricKeyType !== 'rsa') throw new CryptoFormatError('public key is not RSA');
  const bits = obj.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < RSA_BITS) throw new CryptoFormatError(`RSA key too small (${bits} bits)`);
  return obj;
}

/** A fresh RSA-2048 key pair in the token.place forms. */
export async function generateKeyPair(bits = RSA_BITS): Promise<KeyPair> {
  const { publicKey, privateKey } = await new Promise<{ publicKey: string; privateKey: string }>((resolve, reject) => {
    generateKeyPairCb(
      'rsa',
      {
        modulusLength: bits,
        publicExponent: 65537,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      },
      (err, pub, priv) => (err ? reject(err) : resolve({ publicKey: pub, privateKey: priv })),
    );
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey, publicKeyWire: pemToWire(publicKey) };
}

/** AES-256-CBC with PKCS#7 padding. */
export function aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

export function aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array): Buffer {
  if (key.length !== AES_KEY_BYTES) throw new DecryptError('AES key must be 32 bytes');
  if (iv.length !== IV_BYTES) throw new DecryptError('IV must be 16 bytes');
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) throw new DecryptError('ciphertext length is not a multiple of 16');
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, iv);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    throw new DecryptError('AES-CBC decryption failed (bad key or padding)');
  }
}

/** RSA-wraps the ASCII base64 text of `aesKey` for `recipient` (wire form, PEM or KeyObject). */
export function wrapSessionKey(aesKey: Uint8Array, recipient: string | KeyObject, wrap: KeyWrap = 'oaep'): Buffer {
  const key = typeof recipient === 'string' ? importPublicKey(recipient) : recipient;
  const keyText = Buffer.from(toBase64(aesKey), 'ascii');
  if (wrap === 'pkcs1v15') {
    return publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, keyText);
  }
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, keyText);
}

type PrivateKeyInput = string | KeyObject;

function privateKeyObject(key: PrivateKeyInput): KeyObject {
  return typeof key === 'string' ? createPrivateKey({ key, format: 'pem' }) : key;
}

const forgeKeys = new WeakMap<KeyObject, forge.pki.rsa.PrivateKey>();

function forgePrivateKey(key: KeyObject): forge.pki.rsa.PrivateKey {
  let fk = forgeKeys.get(key);
  if (!fk) {
    const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
    fk = forge.pki.privateKeyFromPem(pem);
    forgeKeys.set(key, fk);
  }
  return fk;
}

/**
 * Unwraps a session key: OAEP-SHA-256 first, then PKCS#1 v1.5; the result must be the base64
 * text of a 32-byte key. Returns the raw key bytes and which padding worked.
 */
export function unwrapSessionKey(cipherkey: Uint8Array, privateKey: PrivateKeyInput): { key: Buffer; wrap: KeyWrap } {
  const keyObj = privateKeyObject(privateKey);
  let text: Buffer | null;
  let wrap: KeyWrap = 'oaep';
  try {
    text = privateDecrypt({ key: keyObj, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cipherkey);
  } catch {
    text = null;
  }
  if (text === null) {
    wrap = 'pkcs1v15';
    try {
      const fk = forgePrivateKey(keyObj);
      const out = fk.decrypt(forge.util.binary.raw.encode(cipherkey), 'RSAES-PKCS1-V1_5');
      text = Buffer.from(out, 'binary');
    } catch {
      throw new DecryptError('cannot unwrap the session key with this private key');
    }
  }
  const b64 = text.toString('ascii');
  let key: Buffer;
  try {
    key = fromBase64(b64, 'session key');
  } catch {
    throw new DecryptError('unwrapped session key is not base64 text');
  }
  if (key.length !== AES_KEY_BYTES) throw new DecryptError(`unwrapped session key has ${key.length} bytes, expected 32`);
  return { key, wrap };
}

/** Hybrid-encrypts `plaintext` (string → UTF-8) for `recipient`. */
export function encryptHybrid(plaintext: string | Uint8Array, recipient: string | KeyObject, opts: { wrap?: KeyWrap } = {}): HybridCiphertext {
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const aesKey = randomBytes(AES_KEY_BYTES);
  const iv = randomBytes(IV_BYTES);
  const ct = aesCbcEncrypt(aesKey, iv, data);
  const wrapped = wrapSessionKey(aesKey, recipient, opts.wrap ?? 'oaep');
  aesKey.fill(0);
  return { ciphertext: toBase64(ct), cipherkey: toBase64(wrapped), iv: toBase64(iv) };
}

/** Decrypts a hybrid ciphertext with our private key. Throws DecryptError / CryptoFormatError. */
export function decryptHybrid(payload: HybridCiphertext, privateKey: PrivateKeyInput): Buffer {
  const cipherkey = fromBase64(payload.cipherkey, 'cipherkey');
  const iv = fromBase64(payload.iv, 'iv');
  const ct = fromBase64(payload.ciphertext, 'ciphertext');
  const { key } = unwrapSessionKey(cipherkey, privateKey);
  try {
    return aesCbcDecrypt(key, iv, ct);
  } finally {
    key.fill(0);
  }
}

/** decryptHybrid + UTF-8 + JSON.parse. */
export function decryptJson(payload: HybridCiphertext, privateKey: PrivateKeyInput): unknown {
  const text = decryptHybrid(payload, privateKey).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new DecryptError('decrypted payload is not JSON');
  }
}

/** JSON.stringify + encryptHybrid. */
export function encryptJson(value: unknown, recipient: string | KeyObject, opts: { wrap?: KeyWrap } = {}): HybridCiphertext {
  return encryptHybrid(JSON.stringify(value), recipient, opts);
}

// ---- streaming chunks (one AES key per stream, fresh IV per chunk; protocol.md §D.4, CBC) ----

export interface StreamChunkCiphertext {
  ciphertext: string;
  iv: string;
  /** Present on the first chunk of a stream only. */
  cipherkey?: string;
}

/** Encrypts successive chunks of one stream for one recipient. */
export class StreamEncryptor {
  private readonly key = randomBytes(AES_KEY_BYTES);
  private readonly usedIvs = new Set<string>();
  private first = true;

  constructor(
    private readonly recipient: string | KeyObject,
    private readonly wrap: KeyWrap = 'oaep',
  ) {}

  encrypt(plaintext: string | Uint8Array): StreamChunkCiphertext {
    const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    let iv = randomBytes(IV_BYTES);
    while (this.usedIvs.has(iv.toString('hex'))) iv = randomBytes(IV_BYTES);
    this.usedIvs.add(iv.toString('hex'));
    const chunk: StreamChunkCiphertext = { ciphertext: toBase64(aesCbcEncrypt(this.key, iv, data)), iv: toBase64(iv) };
    if (this.first) {
      chunk.cipherkey = toBase64(wrapSessionKey(this.key, this.recipient, this.wrap));
      this.first = false;
    }
    return chunk;
  }
}

/** Decrypts successive chunks of one stream; rejects a repeated IV like the Python side. */
export class StreamDecryptor {
  private key: Buffer | null = null;
  private readonly usedIvs = new Set<string>();

  constructor(private readonly privateKey: PrivateKeyInput) {}

  decrypt(chunk: StreamChunkCiphertext): Buffer {
    if (this.key === null) {
      if (!chunk.cipherkey) throw new DecryptError('first stream chunk has no cipherkey');
      this.key = unwrapSessionKey(fromBase64(chunk.cipherkey, 'cipherkey'), this.privateKey).key;
    } else if (chunk.cipherkey) {
      throw new DecryptError('cipherkey must only be sent with the first stream chunk');
    }
    const iv = fromBase64(chunk.iv, 'iv');
    const ivHex = iv.toString('hex');
    if (this.usedIvs.has(ivHex)) throw new DecryptError('repeated IV in stream');
    const out = aesCbcDecrypt(this.key, iv, fromBase64(chunk.ciphertext, 'ciphertext'));
    this.usedIvs.add(ivHex);
    return out;
  }
}
