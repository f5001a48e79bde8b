// The legacy-protocol attacks of the availability issue, against the built relay on loopback.
//
//   npm run build && node --import tsx bench/abuse/attack-legacy.ts [--redis] [--rate-limits] [--seconds 10]
//
// Starts the built relay (dist/src/cli.js) as a child process on a free loopback port (memory
// store; with --redis, a real redis-server on another free port and TOKENPLACE_RELAY_STORE=redis),
// and an honest legacy demo node (`cli.js node --protocol legacy`). Rate limits are off by default
// so that the store's caps and shares, not the request budgets, are what the attacks meet
// (--rate-limits turns them on). Attacks, one after the other, each bounded in time and count:
//   1. chunk-flood      one address opens a stream for itself and appends 1 MiB, then 60 KiB chunks
//   2. unsolicited      10,000 /source posts for client keys nobody asked for, from 5 addresses
//   3. junk-nodes       5 addresses register 500 junk node keys each; then /next_server is sampled
//   4. queue-flood      3 addresses queue requests for the honest node (distinct client keys)
//   5. deep-chunk       a chunk nested 5,000 deep, then the session is drained
// Meanwhile an honest client (127.0.0.3) does encrypted chat turns with the honest node. Prints per
// attack: what the attacker got (counts by status/code), the honest turns (ok/failed), and the
// relay's peak RSS so far (VmHWM from /proc) with its current RSS.
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { generateKeyPair } from '../../src/crypto/index.js';
import { CLI, findings, memoryOf as memory, printFindings, ROOT, startRelay, stopChild as stop, Tally, type RunningRelay } from './harness.js';
import { honestTurn, LocalHttp } from './peers.js';

const { values: args } = parseArgs({
  options: { redis: { type: 'boolean', default: false }, 'rate-limits': { type: 'boolean', default: false }, seconds: { type: 'string', default: '10' } },
});
const attackMs = Math.min(Math.max(Number(args.seconds), 2), 60) * 1000;

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  let running: RunningRelay | null = null;
  try {
    running = await startRelay({ redis: args.redis, env: { TOKENPLACE_RATE_LIMIT: args['rate-limits'] ? '1' : '0' } });
    const relay = running.process;
    const { url } = running;
    const node = spawn(process.execPath, [CLI, 'node', '--relay', url, '--protocol', 'legacy', '--name', 'honest'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error' },
      stdio: 'ignore',
    });
    children.push(node);

    const honestHttp = new LocalHttp('127.0.0.3');
    const keys = await generateKeyPair();
    // The honest node's key, as /next_server hands it out before any junk exists.
    let honestNodeKey = '';
    for (let i = 0; i < 100 && honestNodeKey === ''; i += 1) {
      const next = await honestHttp.request('GET', `${url}/next_server`);
      if (typeof next.body?.server_public_key === 'string') honestNodeKey = next.body.server_public_key;
      else await new Promise((r) => setTimeout(r, 100));
    }
    if (honestNodeKey === '') throw new Error('the honest node never registered');

    console.log(
      `# attack-legacy: store=${args.redis ? 'redis' : 'memory'} rate-limits=${args['rate-limits'] ? 'on' : 'off'} attack<=${attackMs / 1000}s, defaults otherwise`,
    );
    console.log(`# relay pid ${relay.pid}, start RSS ${memory(relay.pid!).rssMiB} MiB`);

    /** Honest turns until `done` resolves: ok and failed counts. */
    // A turn fails "on a junk pick" when /next_server handed out a key that is no public key (an
    // attacker's node): the legacy protocol cannot tell nodes apart; the source-first pick bounds how often.
    const honestDuring = (done: Promise<unknown>): Promise<{ ok: number; junkPick: number; failed: number; errors: Set<string> }> => {
      const result = { ok: 0, junkPick: 0, failed: 0, errors: new Set<string>() };
      let over = false;
      void done.finally(() => (over = true));
      return (async () => {
        while (!over) {
          try {
            const turn = await honestTurn(honestHttp, url, keys, 'What is the capital of France?', { pollMs: 200, deadlineMs: 20_000 });
            if (Array.isArray(turn.reply)) result.ok += 1;
            else result.failed += 1;
          } catch (err) {
            const message = (err as Error).message;
            if (/base64|public key/i.test(message)) {
              result.junkPick += 1;
              continue;
            }
            result.failed += 1;
            result.errors.add(message.slice(0, 120));
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        return result;
      })();
    };

    const run = async (name: string, attack: (deadline: number, tally: Tally) => Promise<string>): Promise<void> => {
      const tally = new Tally();
      const deadline = Date.now() + attackMs;
      const attackPromise = attack(deadline, tally);
      const honest = await honestDuring(attackPromise);
      const got = await attackPromise;
      const mem = memory(relay.pid!);
      const alive = relay.exitCode === null;
      console.log(`\n## ${name}`);
      console.log(`attacker: ${got}`);
      console.log(
        `honest:   ${honest.ok} turns ok, ${honest.junkPick} picked a junk node (client-side failure), ${honest.failed} failed${honest.errors.size ? ` (${[...honest.errors].join('; ')})` : ''}`,
      );
      console.log(`relay:    ${alive ? 'up' : 'DEAD'}, peak RSS (VmHWM) ${mem.hwmMiB} MiB, RSS now ${mem.rssMiB} MiB`);
      findings.push({
        attack: name,
        relayUp: alive,
        peakRssMiB: mem.hwmMiB,
        honestOk: honest.ok,
        honestFailed: honest.failed,
        attacker: Object.fromEntries(tally.counts),
      });
    };

    /** A stream session the attacker opens for itself: its own node, its own client key. */
    const ownSession = async (http: LocalHttp, tag: string): Promise<string> => {
      const nodeKey = `evil-node-${tag}`;
      // Registers; with no work the poll would be held, so the attacker gives up on it at once.
      await http.request('POST', `${url}/sink`, { server_public_key: nodeKey }, 200).catch(() => null);
      await http.request('POST', `${url}/faucet`, {
        server_public_key: nodeKey,
        client_public_key: `evil-client-${tag}`,
        chat_history: 'h',
        cipherkey: 'k',
        iv: 'i',
        stream: true,
      });
      const claimed = await http.request('POST', `${url}/sink`, { server_public_key: nodeKey }, 20_000);
      const sid = claimed.body?.stream_session_id;
      if (typeof sid !== 'string') throw new Error(`no session: ${JSON.stringify(claimed.body)}`);
      return sid;
    };

    await run('1. stream-chunk flood (one address, own session; 20 x 1 MiB then 60 KiB chunks, <=3000)', async (deadline, tally) => {
      const http = new LocalHttp('127.0.0.20', 8);
      const sid = await ownSession(http, 'chunks');
      const big = 'x'.repeat(1024 * 1024 - 100);
      for (let i = 0; i < 20 && Date.now() < deadline; i += 1) {
        const res = await http.request('POST', `${url}/stream/source`, { session_id: sid, chunk: big });
        tally.add(res.status, res.body);
      }
      const chunk = 'y'.repeat(60 * 1024);
      let sent = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (sent < 3000 && Date.now() < deadline) {
            sent += 1;
            const res = await http.request('POST', `${url}/stream/source`, { session_id: sid, chunk });
            tally.add(res.status, res.body);
          }
        }),
      );
      http.close();
      return tally.text();
    });

    await run('2. 10,000 unsolicited /source (5 addresses, 40 in parallel)', async (deadline, tally) => {
      const https = [21, 22, 23, 24, 25].map((i) => new LocalHttp(`127.0.0.${i}`, 8));
      let next = 0;
      await Promise.all(
        Array.from({ length: 40 }, async (_, w) => {
          const http = https[w % https.length]!;
          while (next < 10_000 && Date.now() < deadline) {
            const i = next++;
            const res = await http.request('POST', `${url}/source`, { client_public_key: `victim-${i}`, chat_history: 'forged', cipherkey: 'k', iv: 'i' });
            tally.add(res.status, res.body);
          }
        }),
      );
      for (const http of https) http.close();
      return `${next} sent; ${tally.text()}`;
    });

    await run('3. junk node keys (5 addresses x 500 keys), then 400 /next_server picks', async (deadline, tally) => {
      const https = [30, 31, 32, 33, 34].map((i) => new LocalHttp(`127.0.0.${i}`, 8));
      let held = 0;
      await Promise.all(
        https.map(async (http, a) => {
          // Past the attack's time, a source keeps on until it has met its share (each accepted key
          // costs 150 ms, so a slow machine may not fill it in time), within a hard stop.
          let refused = false;
          const hardStop = deadline + 30_000;
          for (let k = 0; k < 500 && (Date.now() < deadline || !refused) && Date.now() < hardStop; k += 1) {
            // An accepted junk key's /sink is held open waiting for work (registered by then): the
            // attacker gives up after 150 ms. A refusal answers at once.
            const res = await http.request('POST', `${url}/sink`, { server_public_key: `junk-${a}-${k}` }, 150).catch(() => null);
            if (res === null) held += 1;
            else {
              tally.add(res.status, res.body);
              if (res.status === 429) refused = true;
            }
          }
        }),
      );
      let honest = 0;
      for (let i = 0; i < 400; i += 1) {
        const next = await https[0]!.request('GET', `${url}/next_server`);
        if (next.body?.server_public_key === honestNodeKey) honest += 1;
      }
      for (const http of https) http.close();
      return `${held} held open (registered), ${tally.text()}; /next_server handed out the honest node ${honest}/400 times`;
    });

    await run('4. queue flood of the honest node (3 addresses, distinct client keys, <=3000)', async (deadline, tally) => {
      const https = [40, 41, 42].map((i) => new LocalHttp(`127.0.0.${i}`, 8));
      let next = 0;
      await Promise.all(
        Array.from({ length: 24 }, async (_, w) => {
          const http = https[w % https.length]!;
          while (next < 3000 && Date.now() < deadline) {
            const i = next++;
            const res = await http.request('POST', `${url}/faucet`, {
              server_public_key: honestNodeKey,
              client_public_key: `flood-${i}`,
              chat_history: 'junk',
              cipherkey: 'k',
              iv: 'i',
            });
            tally.add(res.status, res.body);
          }
        }),
      );
      for (const http of https) http.close();
      return `${next} sent; ${tally.text()}`;
    });

    await run('5. deep-nested chunk (5,000 deep), then /stream/retrieve', async (_deadline, tally) => {
      const http = new LocalHttp('127.0.0.50', 2);
      const sid = await ownSession(http, 'deep');
      // Sent as text: JSON.stringify cannot even build this value.
      const payload = `{"session_id":"${sid}","chunk":${'['.repeat(5000)}"x"${']'.repeat(5000)}}`;
      const res = await fetch(`${url}/stream/source`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
      tally.add(res.status, (await res.json()) as Record<string, unknown>);
      const ok = await http.request('POST', `${url}/stream/source`, { session_id: sid, chunk: { ciphertext: 'fine' }, final: true });
      tally.add(ok.status, ok.body);
      const drained = await http.request('POST', `${url}/stream/retrieve`, { client_public_key: 'evil-client-deep' });
      http.close();
      return `${tally.text()}; /stream/retrieve ${drained.status} with ${(drained.body?.chunks as unknown[] | undefined)?.length ?? 0} chunk(s), final=${String(drained.body?.final)}`;
    });
    honestHttp.close();
    printFindings('attack-legacy');
  } finally {
    for (const child of children.reverse()) await stop(child);
    await running?.stop();
  }
}

await main();
