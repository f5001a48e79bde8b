// Client address resolution: forwarding headers count only from trusted proxies, read from the
// right; IPv4, IPv6 and IPv4-mapped IPv6 compare alike.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AddressSet,
  MAX_FORWARDED_HOPS,
  UNKNOWN_ADDRESS,
  addressLimitKey,
  formatAddress,
  parseAddress,
  resolveClientAddress,
} from '../../src/http/client-address.js';
import { configWith } from '../../src/config.js';
import { testRelay } from '../support/relay-app.js';

const TRAEFIK = ['10.42.0.0/16'];
const trusted = new AddressSet(TRAEFIK);

describe('address parsing', () => {
  it('parses and canonicalises IPv4, IPv6 and IPv4-mapped IPv6', () => {
    assert.equal(formatAddress(parseAddress('203.0.113.7')!), '203.0.113.7');
    assert.equal(formatAddress(parseAddress('::ffff:203.0.113.7')!), '203.0.113.7');
    assert.equal(formatAddress(parseAddress('::FFFF:cb00:7107')!), '203.0.113.7');
    assert.equal(formatAddress(parseAddress('2001:DB8:0:0:0:0:0:1')!), '2001:db8::1');
    assert.equal(formatAddress(parseAddress('2001:db8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1');
    assert.equal(formatAddress(parseAddress('::1')!), '::1');
    assert.equal(formatAddress(parseAddress('::')!), '::');
    assert.equal(formatAddress(parseAddress('fe80::1%eth0')!), 'fe80::1');
    for (const bad of ['', 'localhost', '1.2.3', '256.1.1.1', '1.2.3.4.5', '2001:db8::1::2', ':::', '1.2.3.4/24']) {
      assert.equal(parseAddress(bad), null, bad);
    }
  });

  it('matches CIDRs across the IPv4 / IPv4-mapped boundary', () => {
    const set = new AddressSet(['10.0.0.0/8', '2001:db8::/32', '192.0.2.1/32']);
    assert.ok(set.hasText('10.1.2.3'));
    assert.ok(set.hasText('::ffff:10.1.2.3'));
    assert.ok(!set.hasText('11.0.0.1'));
    assert.ok(set.hasText('2001:db8:ffff::1'));
    assert.ok(!set.hasText('2001:db9::1'));
    assert.ok(set.hasText('192.0.2.1'));
    assert.ok(!set.hasText('192.0.2.2'));
    // Host bits in a configured CIDR are ignored, as routers do.
    assert.ok(new AddressSet(['10.9.9.9/8']).hasText('10.0.0.1'));
    assert.ok(new AddressSet(['::ffff:0:0/96']).hasText('198.51.100.1'));
    assert.ok(!new AddressSet([]).hasText('127.0.0.1'));
  });

  it('groups IPv6 clients by /64 and IPv4 clients by address', () => {
    assert.equal(addressLimitKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressLimitKey('2001:db8:1:2:bbbb::9'), '2001:db8:1:2::/64');
    assert.notEqual(addressLimitKey('2001:db8:1:3::1'), addressLimitKey('2001:db8:1:2::1'));
    assert.equal(addressLimitKey('203.0.113.7'), '203.0.113.7');
  });
});

describe('resolveClientAddress', () => {
  it('ignores forwarding headers from an untrusted peer', () => {
    const headers = { 'x-forwarded-for': '198.51.100.1', 'cf-connecting-ip': '198.51.100.2' };
    assert.equal(resolveClientAddress('203.0.113.9', headers, trusted), '203.0.113.9');
    assert.equal(resolveClientAddress('::ffff:203.0.113.9', headers, trusted), '203.0.113.9');
    assert.equal(resolveClientAddress('203.0.113.9', headers, new AddressSet([])), '203.0.113.9');
  });

  it('walks X-Forwarded-For from the right past trusted hops; spoofed entries on the left do not count', () => {
    // Client 203.0.113.9 sent a forged "198.51.100.1"; Traefik (10.42.0.5) appended the real one.
    assert.equal(resolveClientAddress('10.42.0.5', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' }, trusted), '203.0.113.9');
    // Cloudflare Tunnel: client → cloudflared pod (10.42.1.7, trusted) → Traefik → relay.
    assert.equal(resolveClientAddress('10.42.0.5', { 'x-forwarded-for': '203.0.113.9, 10.42.1.7' }, trusted), '203.0.113.9');
    // A forged trusted-looking address on the left is still behind the real client's entry.
    assert.equal(resolveClientAddress('10.42.0.5', { 'x-forwarded-for': '10.42.9.9, 203.0.113.9' }, trusted), '203.0.113.9');
    // Repeated header lines arrive joined; ports and brackets are stripped.
    assert.equal(resolveClientAddress('::ffff:10.42.0.5', { 'x-forwarded-for': '198.51.100.1:4431' }, trusted), '198.51.100.1');
    assert.equal(resolveClientAddress('10.42.0.5', { 'x-forwarded-for': '[2001:db8::7]:443' }, trusted), '2001:db8::7');
    assert.equal(resolveClientAddress('10.42.0.5', { 'x-forwarded-for': '2001:db8::7' }, trusted), '2001:db8::7');
  });

  it('uses CF-Connecting-IP only when every hop is trusted', () => {
    const cf = '198.51.100.44';
    // cloudflared in the cluster is the first hop: its CF-Connecting-IP names the client.
    assert.equal(resolveClientAddress('10.42.0.5', { 'x-forwarded-for': '10.42.1.7', 'cf-connecting-ip': cf }, trusted), cf);
    assert.equal(resolveClientAddress('10.42.1.7', { 'cf-connecting-ip': cf }, trusted), cf);
    // An untrusted hop in the chain wins over a CF-Connecting-IP it could have forged.
    assert.equal(resolveClientAddress('10.42.0.5', { 'x-forwarded-for': '203.0.113.9', 'cf-connecting-ip': cf }, trusted), '203.0.113.9');
    // Garbage CF-Connecting-IP: the nearest trusted hop.
    assert.equal(resolveClientAddress('10.42.0.5', { 'x-forwarded-for': '10.42.1.7', 'cf-connecting-ip': 'nope' }, trusted), '10.42.1.7');
  });

  it('stops at a garbled entry next to trusted hops and bounds the walk', () => {
    assert.equal(resolveClientAddress('10.42.0.5', { 'x-forwarded-for': '203.0.113.9, unknown, 10.42.1.7' }, trusted), '10.42.1.7');
    assert.equal(resolveClientAddress('10.42.0.5', { 'x-forwarded-for': '' }, trusted), '10.42.0.5');
    const long = [...Array.from({ length: 100 }, () => '203.0.113.1'), ...Array.from({ length: MAX_FORWARDED_HOPS }, (_, i) => `10.42.2.${i}`)].join(',');
    assert.equal(resolveClientAddress('10.42.0.5', { 'x-forwarded-for': long }, trusted), '10.42.2.0');
    assert.equal(resolveClientAddress(undefined, {}, trusted), UNKNOWN_ADDRESS);
  });

  it('config rejects a trusted-proxy entry that is not a CIDR, naming the variable', () => {
    assert.throws(() => configWith({}, { TOKENPLACE_TRUSTED_PROXIES: '10.0.0.0/8,traefik' }), /TOKENPLACE_TRUSTED_PROXIES/);
    assert.throws(() => configWith({}, { TOKENPLACE_CLUSTER_INTERNAL_CIDRS: '10.0.0.0/33' }), /TOKENPLACE_CLUSTER_INTERNAL_CIDRS/);
  });
});

describe('the key used for rate limits', () => {
  // A client budget of 2 makes "same bucket or not" visible as the third request's status.
  const tight = (trustedProxies: string[]) => {
    const base = configWith();
    return { trustedProxies, rateLimits: { ...base.rateLimits, client: { perMinute: 1, burst: 2 } } };
  };
  const nextServer = (relay: Awaited<ReturnType<typeof testRelay>>, remoteAddress: string, headers: Record<string, string>) =>
    relay.inject({ method: 'GET', url: '/next_server', remoteAddress, headers });

  it('does not change when an untrusted peer spoofs X-Forwarded-For or CF-Connecting-IP', async () => {
    const relay = await testRelay(tight(TRAEFIK));
    try {
      const statuses = [];
      for (const [i, spoof] of ['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4'].entries()) {
        const header: Record<string, string> = i % 2 === 0 ? { 'x-forwarded-for': spoof } : { 'cf-connecting-ip': spoof };
        statuses.push((await nextServer(relay, '203.0.113.9', header)).statusCode);
      }
      assert.deepEqual(statuses, [200, 200, 429, 429]);
    } finally {
      await relay.app.close();
    }
  });

  it('follows X-Forwarded-For from a trusted proxy: two clients behind Traefik get their own buckets', async () => {
    const relay = await testRelay(tight(TRAEFIK));
    try {
      const alice = [];
      const bob = [];
      for (let i = 0; i < 3; i++) alice.push((await nextServer(relay, '10.42.0.5', { 'x-forwarded-for': '203.0.113.1' })).statusCode);
      for (let i = 0; i < 2; i++) bob.push((await nextServer(relay, '10.42.0.5', { 'x-forwarded-for': '203.0.113.2' })).statusCode);
      assert.deepEqual(alice, [200, 200, 429]);
      assert.deepEqual(bob, [200, 200]);
      // Alice cannot escape her bucket by prepending a new address: Traefik's entry is on the right.
      const escape = await nextServer(relay, '10.42.0.5', { 'x-forwarded-for': '198.51.100.77, 203.0.113.1' });
      assert.equal(escape.statusCode, 429);
    } finally {
      await relay.app.close();
    }
  });

  it('without trusted proxies everyone behind one proxy shares its bucket (the documented reason to configure it)', async () => {
    const relay = await testRelay(tight([]));
    try {
      const statuses = [];
      for (const client of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
        statuses.push((await nextServer(relay, '10.42.0.5', { 'x-forwarded-for': client })).statusCode);
      }
      assert.deepEqual(statuses, [200, 200, 429]);
    } finally {
      await relay.app.close();
    }
  });
});
