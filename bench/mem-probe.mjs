// Preloaded into the relay by the bench's memory step (node --import): every 500 ms it writes
// process.memoryUsage() to $BENCH_MEM_PROBE_FILE, so the bench can split RSS into V8 heap,
// external memory (array buffers among it) and the rest (native allocations, allocator, code).
// Bench-only; the relay itself has no such route.
import { writeFileSync, renameSync } from 'node:fs';

const file = process.env.BENCH_MEM_PROBE_FILE;
if (file) {
  const write = () => {
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));
      renameSync(`${file}.tmp`, file);
    } catch {
      // the bench reads what is there
    }
  };
  write();
  setInterval(write, 500).unref();
}
