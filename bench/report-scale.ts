// Targets and Markdown sections of the scale steps: memory per entry (step 3's split), cost per
// round trip per store and protocol (step 5) and held long-polls at scale (step 6).
type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Add = (id: string, what: string, goal: string, measured: string | null, ok: boolean | null) => void;

const fmt = (n: unknown, digits = 1): string =>
  typeof n === 'number' && Number.isFinite(n) ? (Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(digits)) : '–';

/** Entries held after step 3's floods, and per-entry growth of a memory figure (bytes). */
export function perEntry(mem: Any): Any | null {
  const entries = (mem?.flood?.requestsAccepted ?? 0) + (mem?.flood?.responsesAccepted ?? 0);
  const stored = mem?.heldAfterFlood?.storedBytes;
  const parts = mem?.parts;
  if (entries === 0 || typeof stored !== 'number' || parts?.start === undefined || parts?.afterFlood === undefined) return null;
  const grow = (k: string): number | null =>
    typeof parts.afterFlood[k] === 'number' && typeof parts.start[k] === 'number' ? ((parts.afterFlood[k] - parts.start[k]) * 1024 * 1024) / entries : null;
  const storedPer = stored / entries;
  const rss = grow('rssMb');
  const heap = grow('heapUsedMb');
  return {
    entries,
    storedPer,
    rss,
    heap,
    rssOver: rss === null ? null : rss - storedPer,
    heapOver: heap === null ? null : heap - storedPer,
    external: grow('externalMb'),
    native: grow('nativeMb'),
  };
}

const row = (rows: Any[] | undefined, store: string, protocol: string): Any | undefined => rows?.find((r) => r.store === store && r.protocol === protocol);

export function scaleTargets(results: Any, add: Add): void {
  const pe = perEntry(results.memory?.relay);
  add(
    'memOverhead',
    'memory: RSS per held entry above its stored bytes (~1 KB ciphertext, ~450-char keys)',
    '≤ 1.0 KB',
    pe?.rssOver == null ? null : `${fmt(pe.rssOver / 1024, 2)} KB (heap ${fmt(pe.heapOver / 1024, 2)} KB; ${fmt(pe.storedPer / 1024, 2)} KB stored)`,
    pe?.rssOver == null ? null : pe.rssOver <= 1024,
  );

  const rows: Any[] | undefined = results.redisCost?.rows;
  for (const protocol of ['legacy', 'v1']) {
    const redis = row(rows, 'redis', protocol);
    const memory = row(rows, 'memory', protocol);
    const cpu = redis?.redisCpuUsPerRt;
    add(
      `redisCpu_${protocol}`,
      `Redis server CPU per round trip, ${protocol} (flat-out cycle)`,
      '≤ 60 µs',
      typeof cpu === 'number' ? `${fmt(cpu)} µs (${fmt(redis!.redisCommandsPerRt, 1)} commands, ${fmt(redis!.redisEvalPerRt, 1)} scripts per rt)` : null,
      typeof cpu === 'number' ? cpu <= 60 : null,
    );
    const ratio = redis && memory && memory.roundTripsPerS > 0 ? redis.roundTripsPerS / memory.roundTripsPerS : null;
    add(
      `redisVsMemory_${protocol}`,
      `Redis-store cycle vs memory store, ${protocol} (same run)`,
      '≥ 0.50×',
      ratio === null ? null : `${ratio.toFixed(2)}× (${fmt(redis!.roundTripsPerS)} vs ${fmt(memory!.roundTripsPerS)} rt/s)`,
      ratio === null ? null : ratio >= 0.5,
    );
  }

  const held = results.held;
  for (const store of ['memory', 'redis']) {
    const h = held?.[store];
    const label = `held polls (${fmt(held?.total)}, ${store} store)`;
    if (!h?.withHeld) {
      for (const [id, what, goal] of [
        ['P99', 'honest added latency p99', '≤ 50 ms'],
        ['Rss', 'relay RSS', '≤ 400 MB'],
        ['Errors', 'errors', '0'],
      ] as const)
        add(`held${id}_${store}`, `${label}: ${what}`, goal, null, null);
      if (store === 'redis') add('heldWake_redis', `${label}: wake-ups reach held v1 clients`, 'all sampled', null, null);
      continue;
    }
    // No round trip completed is a miss, not a p99 of 0.
    const p99of = (x: Any): number => (x.addedMs.count > 0 ? Number(x.addedMs.p99) : NaN);
    const p99 = Math.max(p99of(h.withHeld.legacy), p99of(h.withHeld.v1));
    const alone = Math.max(p99of(h.alone.legacy), p99of(h.alone.v1));
    add(
      `heldP99_${store}`,
      `${label}: honest added latency p99 (worse of legacy, v1)`,
      '≤ 50 ms',
      `${fmt(p99, 1)} ms (${fmt(alone, 1)} ms with nothing held)`,
      p99 <= 50,
    );
    add(`heldRss_${store}`, `${label}: relay RSS`, '≤ 400 MB', `${fmt(h.rssPeakMb)} MB peak (${fmt(h.rssStartMb)} at start)`, h.rssPeakMb <= 400);
    const errors = h.holder.errorCount + h.holder.openFailed + h.withHeld.errorCount + h.alone.errorCount + h.holder.unexpectedDelivery;
    add(
      `heldErrors_${store}`,
      `${label}: errors (unexpected status, reset, timeout)`,
      '0',
      `${fmt(errors)} (${fmt(h.holder.opened)} held sockets opened)`,
      errors === 0,
    );
    if (store === 'redis')
      add(
        'heldWake_redis',
        `${label}: wake-ups reach held v1 clients`,
        'all sampled',
        `${fmt(h.holder.wakeDelivered)}/${fmt(h.holder.wakeSampled)}, p99 ${fmt(h.holder.wakeMs.p99, 1)} ms`,
        h.holder.wakeSampled > 0 && h.holder.wakeDelivered === h.holder.wakeSampled,
      );
  }
}

export function memoryPartsMarkdown(mem: Any, redisMemory: Any): string[] {
  const L: string[] = [];
  const parts = mem?.parts;
  if (parts?.start) {
    L.push(
      '',
      'Relay memory by part (MB). Heap and external are process.memoryUsage() read by a preload of the bench (bench/mem-probe.mjs); native = RSS − heapTotal − external (allocator arenas, code, stacks).',
      '',
    );
    L.push('| | RSS | anonymous | heapUsed | heapTotal | external | arrayBuffers | native |', '|---|---|---|---|---|---|---|---|');
    for (const [name, p] of [
      ['before', parts.start],
      ['after the floods', parts.afterFlood],
      ['after the TTLs', parts.afterExpiry],
    ] as const) {
      if (p)
        L.push(
          `| ${name} | ${fmt(p.rssMb)} | ${fmt(p.anonMb)} | ${fmt(p.heapUsedMb)} | ${fmt(p.heapTotalMb)} | ${fmt(p.externalMb)} | ${fmt(p.arrayBuffersMb)} | ${fmt(p.nativeMb)} |`,
        );
    }
    const pe = perEntry(mem);
    if (pe)
      L.push(
        '',
        `Per entry held (${fmt(pe.entries)} entries): stored ${fmt(pe.storedPer)} B; RSS +${fmt(pe.rss)} B (${fmt(pe.rssOver)} B above stored), heapUsed +${fmt(pe.heap)} B (${fmt(pe.heapOver)} B above stored), external +${fmt(pe.external)} B, native +${fmt(pe.native)} B.`,
      );
    if (parts.afterExpiry) {
      const d = (k: string): string => fmt(parts.afterExpiry[k] - parts.start[k]);
      L.push('', `After the TTLs vs before: RSS ${d('rssMb')} MB = heapTotal ${d('heapTotalMb')} + external ${d('externalMb')} + native ${d('nativeMb')} MB.`);
    }
  }
  if (redisMemory?.entries) {
    L.push(
      '',
      `Redis store: ${fmt(redisMemory.entries)} entries held in Redis (the same flood, smaller): used_memory +${fmt(redisMemory.usedMemoryPerEntryBytes)} B per entry, of which ${fmt(redisMemory.storedBytesPerEntry)} B stored and ${fmt(redisMemory.overheadPerEntryBytes)} B overhead; relay RSS ${fmt(redisMemory.relayRssBeforeMb)} → ${fmt(redisMemory.relayRssAfterMb)} MB.`,
    );
  }
  return L;
}

export function costMarkdown(cost: Any): string[] {
  const L: string[] = ['## 5. Cost per round trip: memory and Redis stores', ''];
  if (!cost?.rows) return [...L, 'broke: see errors below', ''];
  L.push(
    'The flat-out cycle (K=4 nodes, C=16 clients, ~1 KB ciphertext) for each store and protocol, each on a fresh relay. CPU per round trip = process CPU time over the job ÷ round trips completed; Redis figures from its INFO cpu and commandstats around the job (commands include those run inside scripts).',
    '',
  );
  L.push(
    '| store | protocol | rt/s | added p50 / p99 ms | relay CPU µs/rt | Redis CPU µs/rt (main thread) | Redis commands/rt | scripts/rt | errors |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of cost.rows as Any[]) {
    L.push(
      `| ${r.store} | ${r.protocol} | ${fmt(r.roundTripsPerS)} | ${fmt(r.addedMs.p50, 2)} / ${fmt(r.addedMs.p99, 2)} | ${fmt(r.relayCpuUsPerRt)} | ${r.redisCpuUsPerRt == null ? '–' : `${fmt(r.redisCpuUsPerRt)} (${fmt(r.redisMainThreadCpuUsPerRt)})`} | ${fmt(r.redisCommandsPerRt, 1)} | ${fmt(r.redisEvalPerRt, 2)} | ${JSON.stringify(r.errors)}${r.wrongReply ? `, ${r.wrongReply} wrong` : ''} |`,
    );
  }
  for (const r of (cost.rows as Any[]).filter((x) => x.redisByCommandPerRt)) {
    const top = Object.entries(r.redisByCommandPerRt as Record<string, number>)
      .slice(0, 10)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    L.push('', `Redis commands per round trip, ${r.protocol}: ${top}.`);
    const split = r.redisSplitUsPerRt as { scripts: number; commands: number; rest: number } | null | undefined;
    // commandstats times are wall time on the server's main thread, so under CPU contention the split can exceed the CPU total.
    if (split != null)
      L.push(
        '',
        `Redis time per round trip, ${r.protocol}: ${fmt(split.scripts)} µs running scripts, of which ${fmt(split.commands)} µs in the commands they call (the rest is Lua: decoding settings and records, building key names and replies); ${fmt(split.rest)} µs of CPU outside scripts (sockets, parsing, event loop).`,
      );
  }
  if (cost.redis?.skipped) L.push('', `Redis store skipped: ${cost.redis.skipped}`);
  L.push('');
  return L;
}

export function heldMarkdown(held: Any): string[] {
  const L: string[] = ['## 6. Held long-polls at scale', ''];
  if (!held?.memory) return [...L, 'broke or skipped: see errors below', ''];
  L.push(
    `${fmt(held.total)} long-polls held by a second load-generator process, a quarter each of legacy nodes on /sink, API v1 nodes on servers/poll, legacy clients on /retrieve and API v1 clients on responses/retrieve (each with one request parked at a node that never polls), ${held.perSource} per loopback source address. Paced honest round trips of both protocols (8 nodes and 8 clients each, every client pausing 250 ms between round trips, each peer its own address) run first with nothing held, then with the polls held, on the same relay. The relay runs with production rate limits and per-source shares; raised for the phase: ${JSON.stringify(held.memory.settings ?? {})}.`,
    '',
  );
  L.push(
    '| store | held (relay gauge) | ramp s | honest rt/s alone → held (legacy, v1) | added p50 / p99 alone (legacy; v1) | added p50 / p99 held (legacy; v1) | RSS start → peak MB | errors | wake-ups delivered, p50 / p99 ms |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const store of ['memory', 'redis']) {
    const h = held[store];
    if (!h?.withHeld) {
      L.push(`| ${store} | ${h?.skipped ?? 'broke'} | | | | | | | |`);
      continue;
    }
    const pp = (x: Any): string => `${fmt(x.addedMs.p50, 1)} / ${fmt(x.addedMs.p99, 1)}`;
    const errs = {
      ...h.holder.errors,
      ...(h.holder.openFailed ? { open_failed: h.holder.openFailed } : {}),
      ...h.withHeld.legacy.errors,
      ...h.withHeld.v1.errors,
    };
    L.push(
      `| ${store} | ${fmt(h.heldPollsDuringHonest.min)}–${fmt(h.heldPollsDuringHonest.max)} | ${fmt(h.holder.rampSeconds)} | ${fmt(h.alone.legacy.roundTripsPerS)}, ${fmt(h.alone.v1.roundTripsPerS)} → ${fmt(h.withHeld.legacy.roundTripsPerS)}, ${fmt(h.withHeld.v1.roundTripsPerS)} | ${pp(h.alone.legacy)}; ${pp(h.alone.v1)} | ${pp(h.withHeld.legacy)}; ${pp(h.withHeld.v1)} | ${fmt(h.rssStartMb)} → ${fmt(h.rssPeakMb)} | ${JSON.stringify(errs)} | ${fmt(h.holder.wakeDelivered)}/${fmt(h.holder.wakeSampled)}, ${fmt(h.holder.wakeMs.p50, 1)} / ${fmt(h.holder.wakeMs.p99, 1)} |`,
    );
  }
  L.push('', "Held pollers' answers by kind and status (memory store): " + JSON.stringify(held.memory.holder?.statuses ?? {}) + '.', '');
  return L;
}
