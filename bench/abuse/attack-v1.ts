// The API v1 attacks of the availability and ownership issues, against the built relay on loopback.
//
//   npm run build && node --import tsx bench/abuse/attack-v1.ts [--redis] [--rate-limits] [--seconds 10]
//
// Starts the built relay (memory store; --redis: a real redis-server) with rate limits off, so the
// store's caps and shares are what the attacks meet (--rate-limits turns the budgets on). An honest
// API v1 node (127.0.0.3, presents its control credential, so it is bound) answers every request;
// an honest client (127.0.0.4) asks /servers/next for a node, submits, and fetches with ack.
// Attacks, one after the other, each bounded in time and count:
//   1. junk-nodes     5 addresses register 400 junk node keys each; then /servers/next is sampled
//   2. queue-flood    3 addresses queue requests for the honest node (distinct client keys)
//   3. admission      30 addresses fill the request store through nodes of their own
//   4. impostor       polls, re-registers and answers as the honest node without its credential,
//                     and answers requests nobody claimed
// Prints per attack what the attacker got (status and code), the honest round trips (ok / failed,
// and how many went to the honest node), and the relay's peak RSS (VmHWM).
import { parseArgs } from 'node:util';
import { CAPS } from '../../test/support/v1-capabilities.js';
import { findings, memoryOf, printFindings, startRelay, Tally } from './harness.js';
import { LocalHttp } from './peers.js';

const { values: args } = parseArgs({
  options: { redis: { type: 'boolean', default: false }, 'rate-limits': { type: 'boolean', default: false }, seconds: { type: 'string', default: '10' } },
});
const attackMs = Math.min(Math.max(Number(args.seconds), 2), 60) * 1000;
const PROTOCOL = { protocol: 'tokenplace_api_v1_relay_e2ee', version: 1 };
const P = '/api/v1/relay';
const b64 = (text: string) => Buffer.from(text).toString('base64');

const relay = await startRelay({ redis: args.redis, env: { TOKENPLACE_RATE_LIMIT: args['rate-limits'] ? '1' : '0' } });
const { url } = relay;
const halt = new AbortController();
try {
  console.log(
    `# attack-v1: store=${args.redis ? 'redis' : 'memory'} rate-limits=${args['rate-limits'] ? 'on' : 'off'} attack<=${attackMs / 1000}s, defaults otherwise`,
  );
  console.log(`# relay pid ${relay.process.pid}, start RSS ${memoryOf(relay.process.pid!).rssMiB} MiB`);

  // ---- the honest node: registers, polls with its credential, answers with it
  const nodeHttp = new LocalHttp('127.0.0.3', 4);
  const honestKey = b64('honest-node-key');
  const registered = await nodeHttp.request('POST', `${url}${P}/servers/register`, { server_public_key: honestKey, capabilities: CAPS });
  const credential = registered.body?.control_credential;
  if (typeof credential !== 'string') throw new Error(`honest node got no credential: ${registered.status}`);
  const nodeErrors = new Tally();
  const honestNode = (async () => {
    while (!halt.signal.aborted) {
      const work = await nodeHttp
        .request('POST', `${url}${P}/servers/poll`, { server_public_key: honestKey, control_credential: credential }, 20_000)
        .catch(() => null);
      if (work === null || halt.signal.aborted) continue;
      if (work.status !== 200) {
        nodeErrors.add(work.status, work.body);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (typeof work.body?.request_id !== 'string') continue;
      const sent = await nodeHttp.request('POST', `${url}${P}/responses`, {
        ...PROTOCOL,
        server_public_key: honestKey,
        control_credential: credential,
        client_public_key: work.body.client_public_key,
        request_id: work.body.request_id,
        chat_history: b64(`answer:${String(work.body.ciphertext)}`),
        cipherkey: work.body.cipherkey,
        iv: work.body.iv,
      });
      if (sent.status !== 200) nodeErrors.add(sent.status, sent.body);
    }
  })();

  // ---- the honest client: one round trip after the other until the attack ends
  const clientHttp = new LocalHttp('127.0.0.4', 4);
  const clientKey = b64('honest-client-key');
  let turn = 0;
  const honestDuring = async (done: Promise<unknown>) => {
    const result = { ok: 0, toHonestNode: 0, failed: new Tally() };
    let over = false;
    void done.finally(() => (over = true));
    while (!over) {
      const id = `honest-${turn++}`;
      const next = await clientHttp.request('GET', `${url}${P}/servers/next`);
      const nodeKey = next.body?.server_public_key;
      if (next.status !== 200 || typeof nodeKey !== 'string') {
        result.failed.add(next.status, next.body);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const ciphertext = b64(`question-${id}`);
      const cancelToken = `cancel-${id}`;
      const admitted = await clientHttp.request('POST', `${url}${P}/requests`, {
        ...PROTOCOL,
        server_public_key: nodeKey,
        client_public_key: clientKey,
        request_id: id,
        ciphertext,
        cipherkey: b64('k'),
        iv: b64('i'),
        cancel_token: cancelToken,
      });
      if (admitted.status !== 200) {
        result.failed.add(admitted.status, admitted.body);
        continue;
      }
      if (nodeKey !== honestKey) {
        // A junk node never answers: the client cancels at once and asks for another node.
        result.failed.add(0, { code: 'picked_junk_node' });
        await clientHttp.request('POST', `${url}${P}/requests/cancel`, { client_public_key: clientKey, request_id: id, cancel_token: cancelToken });
        continue;
      }
      result.toHonestNode += 1;
      let answered = false;
      for (let attempt = 0; attempt < 40 && !answered; attempt += 1) {
        const got = await clientHttp.request('POST', `${url}${P}/responses/retrieve`, { client_public_key: clientKey, request_id: id, ack: true });
        if (got.status === 200 && got.body?.chat_history === b64(`answer:${ciphertext}`)) answered = true;
        else if (got.status !== 202) {
          result.failed.add(got.status, got.body);
          break;
        }
      }
      if (answered) result.ok += 1;
      else if (!result.failed.counts.size) result.failed.add(0, { code: 'no_answer' });
    }
    return result;
  };

  const run = async (name: string, attack: (deadline: number, tally: Tally) => Promise<string>): Promise<void> => {
    const tally = new Tally();
    const attackPromise = attack(Date.now() + attackMs, tally);
    const honest = await honestDuring(attackPromise);
    const got = await attackPromise;
    const mem = memoryOf(relay.process.pid!);
    console.log(`\n## ${name}`);
    console.log(`attacker: ${got}`);
    console.log(
      `honest:   ${honest.ok} round trips ok (${honest.toHonestNode} submitted to the honest node), failures: ${honest.failed.text().replace('(nothing sent)', 'none')}`,
    );
    console.log(`relay:    ${relay.process.exitCode === null ? 'up' : 'DEAD'}, peak RSS (VmHWM) ${mem.hwmMiB} MiB, RSS now ${mem.rssMiB} MiB`);
    let failed = 0;
    for (const [key, n] of honest.failed.counts) if (key !== '0 picked_junk_node') failed += n;
    findings.push({
      attack: name,
      relayUp: relay.process.exitCode === null,
      peakRssMiB: mem.hwmMiB,
      honestOk: honest.ok,
      honestFailed: failed,
      attacker: Object.fromEntries(tally.counts),
    });
  };

  await run('1. junk node keys (5 addresses x 400 keys), then 400 /servers/next picks', async (deadline, tally) => {
    const https = [30, 31, 32, 33, 34].map((i) => new LocalHttp(`127.0.0.${i}`, 8));
    await Promise.all(
      https.map(async (http, a) => {
        for (let k = 0; k < 400 && Date.now() < deadline; k += 1) {
          const res = await http.request('POST', `${url}${P}/servers/register`, { server_public_key: b64(`junk-${a}-${k}`), capabilities: CAPS });
          tally.add(res.status, res.body);
        }
      }),
    );
    let honest = 0;
    for (let i = 0; i < 400; i += 1) {
      const next = await https[0]!.request('GET', `${url}${P}/servers/next`);
      if (next.body?.server_public_key === honestKey) honest += 1;
    }
    for (const http of https) http.close();
    return `${tally.text()}; /servers/next handed out the honest node ${honest}/400 times`;
  });

  await run('2. queue flood of the honest node (3 addresses, distinct client keys, <=3000)', async (deadline, tally) => {
    const https = [40, 41, 42].map((i) => new LocalHttp(`127.0.0.${i}`, 8));
    let next = 0;
    await Promise.all(
      Array.from({ length: 24 }, async (_, w) => {
        const http = https[w % https.length]!;
        while (next < 3000 && Date.now() < deadline) {
          const i = next++;
          const res = await http.request('POST', `${url}${P}/requests`, {
            ...PROTOCOL,
            server_public_key: honestKey,
            client_public_key: b64(`flood-${i}`),
            request_id: `f-${i}`,
            ciphertext: b64('junk'.repeat(64)),
            cipherkey: b64('k'),
            iv: b64('i'),
          });
          tally.add(res.status, res.body);
        }
      }),
    );
    for (const http of https) http.close();
    return `${next} sent; ${tally.text()}`;
  });

  await run('3. admission flood: 30 addresses, each through 8 nodes of its own (<=12,000 requests of 4 KiB)', async (deadline, tally) => {
    const https = Array.from({ length: 30 }, (_, i) => new LocalHttp(`127.0.1.${i + 10}`, 2));
    const body = b64('x'.repeat(3072));
    await Promise.all(
      https.map(async (http, a) => {
        const own = Array.from({ length: 8 }, (_, n) => b64(`own-node-${a}-${n}`));
        for (const key of own) await http.request('POST', `${url}${P}/servers/register`, { server_public_key: key, capabilities: CAPS });
        // Past the attack's time, a source keeps on until it has met its share (on a slow machine
        // 3 s may not be enough to fill it), within a hard stop.
        let refused = false;
        const hardStop = deadline + 30_000;
        for (let k = 0; k < 400 && (Date.now() < deadline || !refused) && Date.now() < hardStop; k += 1) {
          const res = await http.request('POST', `${url}${P}/requests`, {
            ...PROTOCOL,
            server_public_key: own[k % own.length],
            client_public_key: b64(`adm-${a}-${k}`),
            request_id: `a-${k}`,
            ciphertext: body,
            cipherkey: b64('k'),
            iv: b64('i'),
          });
          tally.add(res.status, res.body);
          if (res.status === 429) refused = true;
        }
      }),
    );
    for (const http of https) http.close();
    return tally.text();
  });

  await run('4. impostor: poll, re-register and answer as the honest (bound) node; answers for unclaimed requests', async (deadline, tally) => {
    const http = new LocalHttp('127.0.0.60', 4);
    for (let i = 0; i < 200 && Date.now() < deadline; i += 1) {
      const poll = await http.request('POST', `${url}${P}/servers/poll`, { server_public_key: honestKey }, 2000).catch(() => null);
      if (poll !== null) tally.add(poll.status, poll.body);
      const rereg = await http.request('POST', `${url}${P}/servers/register`, {
        server_public_key: honestKey,
        capabilities: { ...CAPS, supported_model_ids: ['evil'] },
      });
      tally.add(rereg.status, rereg.body);
      const forged = await http.request('POST', `${url}${P}/responses`, {
        ...PROTOCOL,
        client_public_key: clientKey,
        request_id: `honest-${turn + 1}`,
        chat_history: b64('forged'),
        cipherkey: b64('k'),
        iv: b64('i'),
      });
      tally.add(forged.status, forged.body);
    }
    http.close();
    return tally.text();
  });

  printFindings('attack-v1');
  console.log(`\n# honest node's own refusals over the whole run: ${nodeErrors.text().replace('(nothing sent)', 'none')}`);
  halt.abort();
  nodeHttp.close();
  clientHttp.close();
  await Promise.race([honestNode, new Promise((r) => setTimeout(r, 100))]);
} finally {
  halt.abort();
  await relay.stop();
}
