// The signed-text format of answers and streamed snapshots, signed on the node side
// (src/crypto) and checked with the page's WebCrypto code (web/src/signing.ts, run here on
// Node's WebCrypto), plus the snapshot records and their pacer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, signedTextBytes, signText, verifyText, SIGNED_TEXT_MAGIC, type SignedTextFields } from '../../src/crypto/index.js';
import { SnapshotPacer, snapshotEnvelope } from '../../src/crypto/stream-snapshot.js';
import { normaliseCapabilities, capabilitiesWire } from '../../src/protocols/v1/capabilities.js';
import { signedTextBytes as pageBytes, verifySignedText } from '../../web/src/signing.js';
import { readSnapshot, SnapshotStream, type Snapshot } from '../../web/src/stream.js';

const P = 'tokenplace_api_v1_relay_e2ee';
const node = await generateKeyPair();
const other = await generateKeyPair();
const client = await generateKeyPair();

const fields = (over: Partial<SignedTextFields> = {}): SignedTextFields => ({
  protocol: P,
  purpose: 'answer',
  requestId: 'req-1',
  clientPublicKey: client.publicKeyWire,
  serverPublicKey: node.publicKeyWire,
  sequence: 0,
  finishReason: 'stop',
  text: 'Grüße — *bold*\nline two',
  ...over,
});

test('signed bytes: magic line, then length-prefixed UTF-8 fields, identical on node and page', () => {
  const f = fields({ clientPublicKey: 'ck', serverPublicKey: 'sk', requestId: 'r', text: 'é' });
  const bytes = signedTextBytes(f);
  const expected = Buffer.concat([
    Buffer.from(SIGNED_TEXT_MAGIC),
    ...[P, 'answer', 'r', 'ck', 'sk', '0', 'stop', 'é'].flatMap((s) => {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return [len, b];
    }),
  ]);
  assert.deepEqual(bytes, expected);
  assert.equal(bytes.subarray(bytes.length - 6).toString('hex'), '00000002c3a9', 'é is two UTF-8 bytes, counted as such');
  assert.deepEqual(Buffer.from(pageBytes(f)), bytes);
  // A boundary shift is a different message: fields cannot run into each other.
  assert.notDeepEqual(signedTextBytes(fields({ requestId: 'ab', clientPublicKey: 'c' })), signedTextBytes(fields({ requestId: 'a', clientPublicKey: 'bc' })));
  assert.throws(() => signedTextBytes(fields({ sequence: -1 })), RangeError);
});

for (const alg of ['rsa-pss-sha256', 'rsassa-pkcs1v15-sha256'] as const) {
  test(`${alg}: a node signature verifies on the node side and in WebCrypto; any change to a field fails`, async () => {
    const f = fields();
    const sig = signText(f, node.privateKeyPem, alg);
    assert.equal(sig.alg, alg);
    assert.ok(verifyText(f, sig));
    assert.ok(await verifySignedText(f, sig), 'the page accepts it');
    const changes: Partial<SignedTextFields>[] = [
      { text: `${f.text} ` },
      { text: f.text.slice(0, -1) },
      { requestId: 'req-2' },
      { clientPublicKey: other.publicKeyWire },
      { serverPublicKey: other.publicKeyWire },
      { purpose: 'snapshot' },
      { sequence: 1 },
      { finishReason: 'length' },
      { protocol: 'other' },
    ];
    for (const change of changes) {
      assert.equal(verifyText(fields(change), sig), false, `node side refuses ${JSON.stringify(Object.keys(change))}`);
      assert.equal(await verifySignedText(fields(change), sig), false, `page refuses ${JSON.stringify(Object.keys(change))}`);
    }
    // Signed by another key, or malformed: refused, never thrown.
    const forged = signText(f, other.privateKeyPem, alg);
    assert.equal(await verifySignedText(f, forged), false);
    for (const bad of [null, {}, { alg, signature: 'not base64!' }, { alg: 'rsa-pss-sha512', signature: sig.signature }, { alg, signature: '' }]) {
      assert.equal(verifyText(f, bad), false);
      assert.equal(await verifySignedText(f, bad), false);
    }
  });
}

test('a snapshot signature never verifies as the final answer (a cut-short text cannot pass as the whole)', async () => {
  const env = snapshotEnvelope(
    {
      protocol: P,
      requestId: 'req-1',
      clientPublicKey: client.publicKeyWire,
      serverPublicKey: node.publicKeyWire,
      signer: { privateKeyPem: node.privateKeyPem, alg: 'rsa-pss-sha256' },
    },
    3,
    'Hello wor',
  );
  const stream = env.api_v1_stream as { format: string; sequence: number; text: string; signature: unknown };
  assert.deepEqual(Object.keys(env).sort(), ['api_v1_stream', 'client_public_key', 'protocol', 'request_id', 'version']);
  assert.deepEqual([stream.format, stream.sequence, stream.text], ['snapshots-v1', 3, 'Hello wor']);
  const asSnapshot = fields({ purpose: 'snapshot', sequence: 3, finishReason: '', text: 'Hello wor' });
  assert.ok(await verifySignedText(asSnapshot, stream.signature));
  assert.equal(await verifySignedText(fields({ sequence: 0, finishReason: '', text: 'Hello wor' }), stream.signature), false);
  // The page reads it for this request and client only.
  const plaintext = JSON.stringify(env);
  assert.deepEqual(readSnapshot(plaintext, 'req-1', client.publicKeyWire), { sequence: 3, text: 'Hello wor', signature: stream.signature });
  assert.equal(readSnapshot(plaintext, 'req-2', client.publicKeyWire), null);
  assert.equal(readSnapshot(plaintext, 'req-1', other.publicKeyWire), null);
  assert.equal(readSnapshot(JSON.stringify({ ...env, api_v1_stream: { ...stream, format: 'deltas' } }), 'req-1', client.publicKeyWire), null);
  assert.equal(readSnapshot(JSON.stringify({ ...env, api_v1_stream: { ...stream, sequence: 0 } }), 'req-1', client.publicKeyWire), null);
  // Unsigned when the node does not sign.
  const unsigned = snapshotEnvelope({ protocol: P, requestId: 'r', clientPublicKey: 'ck', serverPublicKey: 'sk' }, 1, 'a');
  assert.equal((unsigned.api_v1_stream as Record<string, unknown>).signature, undefined);
});

test('the shown text only moves forward: stale, reordered, non-extending and badly signed snapshots are refused', async () => {
  const good = new Set(['ok']);
  const s = new SnapshotStream(async (snap) => good.has(String(snap.signature)));
  const snap = (sequence: number, text: string, signature = 'ok'): Snapshot => ({ sequence, text, signature });
  assert.deepEqual(await s.offer(snap(2, 'Hello')), { accepted: true, text: 'Hello' });
  assert.deepEqual(await s.offer(snap(5, 'Hello world')), { accepted: true, text: 'Hello world' });
  assert.deepEqual(await s.offer(snap(3, 'Hello wo')), { accepted: false, reason: 'stale' }, 'an older record');
  assert.deepEqual(await s.offer(snap(5, 'Hello world')), { accepted: false, reason: 'stale' }, 'the same record again');
  assert.deepEqual(await s.offer(snap(6, 'Goodbye')), { accepted: false, reason: 'not_extension' });
  assert.deepEqual(await s.offer(snap(7, 'Hello world!', 'forged')), { accepted: false, reason: 'bad_signature' });
  assert.deepEqual(await s.offer(snap(9, 'Hello world, again')), { accepted: true, text: 'Hello world, again' }, 'a gap in sequences costs nothing');
  assert.equal(s.text, 'Hello world, again');
  assert.deepEqual(s.refused, ['stale', 'stale', 'not_extension', 'bad_signature']);
});

test('snapshot pacer: the first record at once, then at most one per interval, newest text wins, one post in flight', async () => {
  const posts: { at: number; text: string }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const t0 = Date.now();
  const pacer = new SnapshotPacer(50, async (text) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    posts.push({ at: Date.now() - t0, text });
    await new Promise((r) => setTimeout(r, 5));
    inFlight -= 1;
    return true;
  });
  let text = '';
  for (let i = 0; i < 40; i++) {
    text += `w${i} `;
    pacer.offer(text);
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 60));
  await pacer.close();
  assert.equal(posts[0]!.text, 'w0 ', 'the first word goes out without waiting');
  assert.equal(maxInFlight, 1);
  for (let i = 1; i < posts.length; i++)
    assert.ok(posts[i]!.at - posts[i - 1]!.at >= 45, `records ${i - 1} and ${i} are ≥ 50 ms apart (timer slack 5 ms): ${posts[i]!.at - posts[i - 1]!.at}`);
  assert.ok(posts.length < 40 / 2, `40 offers in ~200 ms made ${posts.length} records`);
  assert.equal(posts[posts.length - 1]!.text, text, 'the newest text is what is posted last');
  for (let i = 1; i < posts.length; i++) assert.ok(posts[i]!.text.startsWith(posts[i - 1]!.text));
  // A refusal (request no longer active) stops it.
  const refused = new SnapshotPacer(0, async () => false);
  refused.offer('a');
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(refused.refused, true);
  refused.offer('ab');
  assert.equal(refused.posted, 1);
});

test('capabilities: answer_signing and streaming are kept when known, dropped when unknown, refused when not strings', () => {
  const base = {
    supported_model_ids: ['m'],
    active_context_tier: '8k-fast',
    maximum_total_context_tokens: 8192,
    default_output_token_reservation: 512,
    maximum_output_tokens: 1024,
    max_concurrency: 1,
  };
  const caps = normaliseCapabilities({ ...base, answer_signing: 'rsa-pss-sha256', streaming: 'snapshots-v1' });
  assert.equal(caps.answerSigning, 'rsa-pss-sha256');
  assert.equal(caps.streaming, 'snapshots-v1');
  assert.deepEqual([capabilitiesWire(caps).answer_signing, capabilitiesWire(caps).streaming], ['rsa-pss-sha256', 'snapshots-v1']);
  const plain = normaliseCapabilities(base);
  assert.ok(!('answer_signing' in capabilitiesWire(plain)) && !('streaming' in capabilitiesWire(plain)), 'a node without them lists as before');
  const future = normaliseCapabilities({ ...base, answer_signing: 'ed25519', streaming: 'deltas-v2' });
  assert.equal(future.answerSigning, undefined);
  assert.equal(future.streaming, undefined);
  assert.throws(() => normaliseCapabilities({ ...base, answer_signing: true }), /answer_signing must be a string/);
  assert.throws(() => normaliseCapabilities({ ...base, streaming: 1 }), /streaming must be a string/);
});
