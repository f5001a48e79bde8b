import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import {
  aesCbcDecrypt,
  aesCbcEncrypt,
  CryptoFormatError,
  decryptHybrid,
  decryptJson,
  DecryptError,
  encryptHybrid,
  encryptJson,
  fromBase64,
  generateKeyPair,
  importPublicKey,
  pemToWire,
  StreamDecryptor,
  StreamEncryptor,
  unwrapSessionKey,
  wireToPem,
  wrapSessionKey,
} from '../../src/crypto/index.js';

interface Vectors {
  private_key_pem: string;
  public_key_wire: string;
  aes_known_answer: { key: string; iv: string; plaintext: string; ciphertext: string }[];
  hybrid: { wrap: 'oaep' | 'pkcs1v15'; plaintext: string; ciphertext: string; cipherkey: string; iv: string }[];
}

const vectors = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'crypto', 'vectors.json'), 'utf8')) as Vectors;

test('AES-256-CBC known answers made by Python cryptography', () => {
  for (const v of vectors.aes_known_answer) {
    const ct = aesCbcEncrypt(Buffer.from(v.key, 'base64'), Buffer.from(v.iv, 'base64'), Buffer.from(v.plaintext, 'utf8'));
    assert.equal(ct.toString('base64'), v.ciphertext, `plaintext ${JSON.stringify(v.plaintext.slice(0, 20))}`);
    const pt = aesCbcDecrypt(Buffer.from(v.key, 'base64'), Buffer.from(v.iv, 'base64'), ct);
    assert.equal(pt.toString('utf8'), v.plaintext);
  }
});

test('decrypts Python-made hybrid ciphertexts (OAEP and the PKCS#1 v1.5 fallback)', () => {
  assert.ok(vectors.hybrid.some((v) => v.wrap === 'pkcs1v15'));
  for (const v of vectors.hybrid) {
    const pt = decryptHybrid(v, vectors.private_key_pem);
    assert.equal(pt.toString('utf8'), v.plaintext);
    const { wrap } = unwrapSessionKey(Buffer.from(v.cipherkey, 'base64'), vectors.private_key_pem);
    assert.equal(wrap, v.wrap);
  }
});

test('the fixture public key round-trips through the wire form', () => {
  const pem = wireToPem(vectors.public_key_wire);
  assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n/);
  assert.equal(pemToWire(pem), vectors.public_key_wire);
  const ct = encryptJson([{ role: 'user', content: 'hi' }], vectors.public_key_wire);
  assert.deepEqual(decryptJson(ct, vectors.private_key_pem), [{ role: 'user', content: 'hi' }]);
});

test('generated key pairs have the upstream wire form', async () => {
  const kp = await generateKeyPair();
  const pem = Buffer.from(kp.publicKeyWire, 'base64').toString('ascii');
  assert.equal(pem, kp.publicKeyPem);
  assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END PUBLIC KEY-----\n$/);
  const details = createPublicKey(pem).asymmetricKeyDetails;
  assert.equal(details?.modulusLength, 2048);
  assert.equal(details?.publicExponent, 65537n);
  assert.match(kp.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
});

test('round trip for both wraps; the wrapped text is the base64 of the AES key', async () => {
  const kp = await generateKeyPair();
  const msg = 'héllo ✓ '.repeat(100);
  for (const wrap of ['oaep', 'pkcs1v15'] as const) {
    const ct = encryptHybrid(msg, kp.publicKeyWire, { wrap });
    assert.equal(decryptHybrid(ct, kp.privateKeyPem).toString('utf8'), msg);
    assert.equal(fromBase64(ct.iv).length, 16);
    const { key, wrap: used } = unwrapSessionKey(fromBase64(ct.cipherkey), kp.privateKeyPem);
    assert.equal(used, wrap);
    assert.equal(key.length, 32);
  }
  // Each message gets a fresh key and IV.
  const a = encryptHybrid('same', kp.publicKeyWire);
  const b = encryptHybrid('same', kp.publicKeyWire);
  assert.notEqual(a.iv, b.iv);
  assert.notEqual(a.ciphertext, b.ciphertext);
});

test('decryption failures are typed errors, not garbage', async () => {
  const kp = await generateKeyPair();
  const other = await generateKeyPair();
  const ct = encryptHybrid('secret', kp.publicKeyWire);
  assert.throws(() => decryptHybrid(ct, other.privateKeyPem), DecryptError);
  assert.throws(() => decryptHybrid({ ...ct, iv: 'not base64!' }, kp.privateKeyPem), CryptoFormatError);
  const flipped = Buffer.from(ct.ciphertext, 'base64');
  flipped.writeUInt8(flipped.readUInt8(flipped.length - 1) ^ 0xff, flipped.length - 1);
  assert.throws(() => decryptHybrid({ ...ct, ciphertext: flipped.toString('base64') }, kp.privateKeyPem), DecryptError);
  // A wrapped 32 raw bytes (not their base64 text) is refused.
  const raw = publicEncrypt({ key: kp.publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32));
  assert.throws(() => unwrapSessionKey(raw, kp.privateKeyPem), DecryptError);
  assert.throws(() => decryptJson(encryptHybrid('not json', kp.publicKeyWire), kp.privateKeyPem), DecryptError);
});

test('public key validation', async () => {
  const kp = await generateKeyPair();
  assert.throws(() => wireToPem('!!!'), CryptoFormatError);
  // base64 of DER (the broken upstream browser form) is not accepted
  const der = createPublicKey(kp.publicKeyPem).export({ type: 'spki', format: 'der' });
  assert.throws(() => importPublicKey(der.toString('base64')), CryptoFormatError);
  assert.equal(importPublicKey(kp.publicKeyPem).asymmetricKeyType, 'rsa');
  assert.throws(
    () => wrapSessionKey(randomBytes(32), Buffer.from('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n').toString('base64')),
    CryptoFormatError,
  );
});

test('stream chunks share one key, carry the cipherkey once and never repeat an IV', async () => {
  const kp = await generateKeyPair();
  const enc = new StreamEncryptor(kp.publicKeyWire);
  const chunks = ['one ', 'two ', 'three'].map((s) => enc.encrypt(s));
  assert.ok(chunks[0]!.cipherkey);
  assert.ok(chunks.slice(1).every((c) => c.cipherkey === undefined));
  const dec = new StreamDecryptor(kp.privateKeyPem);
  assert.equal(chunks.map((c) => dec.decrypt(c).toString('utf8')).join(''), 'one two three');
  assert.throws(() => dec.decrypt(chunks[1]!), DecryptError, 'replayed chunk');
  assert.throws(() => new StreamDecryptor(kp.privateKeyPem).decrypt(chunks[1]!), DecryptError, 'no cipherkey');
});

// Interop with the upstream Python implementation itself (encrypt.py), when its tree is given.
const tpTree = process.env.TP_TREE;
const python = process.env.PYTHON ?? '/usr/bin/python3';

function runUpstream(script: string, input: unknown): unknown {
  const r = spawnSync(python, ['-c', script], {
    cwd: tpTree,
    input: JSON.stringify(input),
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: tpTree, TOKEN_PLACE_ENV: 'development' },
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`upstream python failed: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!);
}

test('interoperates with upstream encrypt.py (TP_TREE)', async (t) => {
  if (!tpTree) {
    t.skip('TP_TREE not set: point it at an exported upstream token.place tree to check against its encrypt.py');
    return;
  }
  assert.ok(existsSync(join(tpTree, 'encrypt.py')), `${tpTree} has no encrypt.py`);
  const kp = await generateKeyPair();
  const fromPython = runUpstream(
    `
import base64, json, sys
import encrypt
req = json.load(sys.stdin)
priv, pub = encrypt.generate_keys()
out = {"private_key_pem": priv.decode(), "public_key_wire": base64.b64encode(pub).decode(), "payloads": []}
for use_pkcs in (False, True):
    ct, wrapped, iv = encrypt.encrypt(req["plaintext"].encode("utf-8"), base64.b64decode(req["recipient"]), use_pkcs1v15=use_pkcs)
    out["payloads"].append({"ciphertext": base64.b64encode(ct["ciphertext"]).decode(), "cipherkey": base64.b64encode(wrapped).decode(), "iv": base64.b64encode(iv).decode()})
print(json.dumps(out))
`,
    { plaintext: 'from python ✓', recipient: kp.publicKeyWire },
  ) as { private_key_pem: string; public_key_wire: string; payloads: { ciphertext: string; cipherkey: string; iv: string }[] };
  for (const p of fromPython.payloads) assert.equal(decryptHybrid(p, kp.privateKeyPem).toString('utf8'), 'from python ✓');

  const toPython = [encryptHybrid('from node ✓', fromPython.public_key_wire), encryptHybrid('from node ✓', fromPython.public_key_wire, { wrap: 'pkcs1v15' })];
  const decoded = runUpstream(
    `
import base64, json, sys
import encrypt
req = json.load(sys.stdin)
res = []
for p in req["payloads"]:
    pt = encrypt.decrypt({"ciphertext": base64.b64decode(p["ciphertext"]), "iv": base64.b64decode(p["iv"])}, base64.b64decode(p["cipherkey"]), req["priv"].encode())
    res.append(None if pt is None else pt.decode("utf-8"))
print(json.dumps(res))
`,
    { priv: fromPython.private_key_pem, payloads: toPython },
  );
  assert.deepEqual(decoded, ['from node ✓', 'from node ✓']);
});
