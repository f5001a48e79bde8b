// Key layout of the API v1 state in the Redis store, beside the legacy families (src/protocols/legacy/redis-keys.ts). Every
// family starts with "v1:", which no legacy family does, so the two protocols never collide.
// A request is named by rk = "<bytes of client key>:<client key><request id>", unambiguous
// whatever the keys contain.
//
//   <p>v1:nodes       ZSET   node key -> registration seq (selection and listing order)
//   <p>v1:alive       ZSET   node key -> alive-until = max(lease, longest running in-flight lease);
//                            kept exact, so "healthy" is one ZSCORE and the eviction index a range
//   <p>v1:meta        HASH   seq (registrations), order (admissions), cursor (seq picked last),
//                            csrc (source picked last), picks (successful picks: the exploration
//                            turn), shared by every replica
//   <p>v1:qc          HASH   client key -> active requests (per-client cap)
//   <p>v1:xa          ZSET   rk -> deadline: queued and in-flight requests (deadline sweep, count)
//   <p>v1:xq          ZSET   rk -> admitted at: queued requests (count, oldest age)
//   <p>v1:xh          ZSET   rk -> held until: answered, unfetched (response sweep, count)
//   <p>v1:xt          ZSET   rk -> max(client until, node until): tombstones (prune, cap)
//   <p>v1:xr          ZSET   rk -> replay until: tombstones still carrying their answer (replay sweep)
//   <p>v1:xf          ZSET   rk -> in-flight lease: claims (the sweep requeues lapsed ones)
//   <p>v1:srcn        HASH   source -> v1 nodes it registered (node share)
//   <p>v1:srcr        HASH   source -> live requests it submitted (request share)
//   <p>v1:scur        HASH   source -> seq picked last among its nodes (selection fairness)
//   <p>v1:qs:<node>   HASH   source -> requests it has queued on that node (queue share)
//   <p>v1:touched     STRING marker: the v1 bookkeeping keys' TTLs were refreshed within its lifetime
//   <p>srcbytes       HASH   source -> bytes held, both protocols (byte share; HDEL at 0)
//   <p>v1:n:<node>    HASH   seq, caps (JSON), tier, mct, conc, models (JSON), digest, lease, seen,
//                            src, b (bytes), bd ('1': bound to its credential), pl ('1': has polled),
//                            pv ('1': proven: delivered an accepted answer)
//   <p>v1:q:<node>    ZSET   rk -> admission order: the node's queue
//   <p>v1:f:<node>    ZSET   request id -> in-flight lease: claimed requests (load, liveness)
//   <p>v1:i:<node>    HASH   request id -> rk: queued and in flight on that node (id binding)
//   <p>v1:nt:<node>   HASH   request id -> rk: tombstones the node's control poll may read
//   <p>v1:r:<rk>      HASH   the request: c, i, n, cd, at, dl, st (q|f|h), b (bytes), lu, ca, hu,
//                            s (submitting source), bs (source its bytes are charged to), dg
//                            (admission digest), o (admission order), cl ('1': claimed once),
//                            lp (lapsed claims), rb (bytes of the request record);
//                            ct/ck/iv (request while queued or in flight, response once held),
//                            pc/pk/pi (progress)
//   <p>v1:h:<client>  ZSET   rk -> completion order: the client's held answers
//   <p>v1:t:<rk>      HASH   tombstone: c, i, st, rs, cd, dl, cu, nk, od, nu, dg, s, b; after an
//                            answer's last hand-out also rct/rck/riv, rat, rca, ru (replay until),
//                            rb (its bytes), rbs (the source they are charged to)
//
// Bytes count into the legacy <p>counts "bytes" field, so maxStoredBytes bounds both protocols in
// every script of either. Wake-ups go to the legacy channel as "w" + v1WorkWakeKey(node) and
// "r" + v1ResponseWakeKey(client, id), which the fan-out delivers as-is.
export {};
