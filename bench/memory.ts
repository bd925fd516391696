/**
 * Memory per live flow (issue 6): peak RSS while 1 M and 10 M flows are live at once, with and without the
 * live-flow cap, and the bytes of per-flow state each part of the pipeline holds per table slot.
 *
 *   node --import tsx bench/memory.ts            # 1 M and 10 M flows
 *   node --import tsx bench/memory.ts --only 1M  # 1 M only
 *
 * Input: a synthetic SYN flood written once outside the repository (FLOWSIEVE_BENCH_DIR, default
 * /tmp/flowsieve-bench): N TCP SYNs over Ethernet/IPv4, each from a distinct pseudo-random source address and port
 * to one server, 1 µs apart, so every packet opens a new flow and none expires before the end of the capture
 * (N µs ≪ the 120 s idle timeout). Each configuration runs in a child process under /usr/bin/time -v; rows are
 * counted and discarded (the output writer's memory is per row group, not per live flow).
 * The slot sizes are measured, not estimated: the byte length of every typed array a meter or the table owns,
 * divided by the table capacity (per-flow objects some meters allocate on demand, for TLS/DNS/HTTP flows only,
 * are not in it; a SYN flood creates none).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCH_DIR = process.env.FLOWSIEVE_BENCH_DIR ?? '/tmp/flowsieve-bench';

/**
 * Sum of the typed arrays reachable from `o` (own fields, nested plain objects and arrays), by identity; views of
 * one buffer (the flow table's records as unsigned and signed words) count once, as the whole buffer.
 */
function typedBytes(o: unknown, seen = new Set<unknown>()): number {
  if (o === null || typeof o !== 'object' || seen.has(o)) return 0;
  seen.add(o);
  if (ArrayBuffer.isView(o)) {
    if (seen.has(o.buffer)) return 0;
    seen.add(o.buffer);
    return o.buffer.byteLength;
  }
  let sum = 0;
  for (const v of Object.values(o as Record<string, unknown>)) sum += typedBytes(v, seen);
  return sum;
}

// --- child: run the pipeline, report slot sizes -------------------------------------------------------------------
if (process.argv[2] === '--child') {
  const [, , , mode, file, maxFlowsText] = process.argv;
  const { FlowPipeline } = await import('../src/pipeline.ts');
  const { readCapture } = await import('../src/capture/index.ts');
  const { StatsMeter } = await import('../src/features/stats.ts');
  const { defaultMeters } = await import('../src/features/index.ts');
  const meters = mode === 'stats' ? [new StatsMeter()] : defaultMeters();
  let rows = 0;
  const pipeline = new FlowPipeline({
    flow: { maxFlows: Number(maxFlowsText) },
    meters,
    sourceFileColumn: false,
    onFlow: () => {
      rows++;
    },
  });
  pipeline.startFile(file!);
  await readCapture(file!, pipeline.packet);
  // Before the flush: every flow still live, the table at its largest.
  const table = (pipeline as unknown as { table: { capacity: number; live: number } }).table;
  const capacity = table.capacity;
  const live = table.live;
  const perSlot: Record<string, number> = { table: typedBytes(table) / capacity };
  for (const m of meters) perSlot[m.name] = typedBytes(m) / capacity;
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  pipeline.endFile();
  process.stdout.write(
    `${JSON.stringify({ live, capacity, rows, evictions: pipeline.stats.evictions, perSlot, heapMiB })}\n`,
  );
  process.exit(0);
}

/** Ethernet + IPv4 + TCP SYN, 54 bytes; source address and port vary per packet. */
function writeFlood(file: string, packets: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0); // pcap, microseconds
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  writeSync(fd, header);
  const REC = 16 + 54;
  const batch = 65536;
  const buf = Buffer.alloc(REC * batch);
  for (let i = 0; i < batch; i++) {
    const o = i * REC + 16;
    buf.writeUInt16BE(0x0800, o + 12); // IPv4
    buf[o + 14] = 0x45;
    buf.writeUInt16BE(40, o + 16); // total length
    buf[o + 22] = 64; // TTL
    buf[o + 23] = 6; // TCP
    buf.writeUInt32BE(0xc0000201, o + 30); // dst 192.0.2.1
    buf.writeUInt16BE(80, o + 36); // dst port
    buf[o + 46] = 0x50; // data offset 5
    buf[o + 47] = 0x02; // SYN
    buf.writeUInt16BE(64240, o + 48); // window
  }
  let x = 0x12345678;
  const startUs = 1_700_000_000_000_000;
  for (let done = 0; done < packets; ) {
    const n = Math.min(batch, packets - done);
    for (let i = 0; i < n; i++) {
      const r = i * REC;
      const t = startUs + done + i;
      buf.writeUInt32LE(Math.floor(t / 1e6), r);
      buf.writeUInt32LE(t % 1e6, r + 4);
      buf.writeUInt32LE(54, r + 8);
      buf.writeUInt32LE(54, r + 12);
      // xorshift32: distinct (address, port) pairs with overwhelming probability; the counter in the low bits of
      // the port makes consecutive packets differ even if the generator repeated.
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const o = r + 16;
      buf.writeUInt32BE(((0x0a000000 | (x & 0x00ffffff)) >>> 0) >>> 0, o + 26); // src 10.x.y.z
      buf.writeUInt16BE(1024 + ((done + i) % 60000), o + 34);
      buf.writeUInt32BE(x >>> 0, o + 38); // sequence number
    }
    writeSync(fd, buf, 0, n * REC);
    done += n;
  }
  closeSync(fd);
  renameSync(tmp, file);
}

interface ChildResult {
  live: number;
  capacity: number;
  rows: number;
  evictions: number;
  perSlot: Record<string, number>;
  heapMiB: number;
}

function run(mode: string, file: string, maxFlows: number): { res: ChildResult; rssMiB: number; wallS: number } {
  const timeFile = path.join(os.tmpdir(), `flowsieve-mem-${process.pid}.txt`);
  const t0 = performance.now();
  const r = spawnSync(
    '/usr/bin/time',
    [
      '-v',
      '-o',
      timeFile,
      process.execPath,
      '--import',
      'tsx',
      'bench/memory.ts',
      '--child',
      mode,
      file,
      `${maxFlows}`,
    ],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (r.status !== 0) throw new Error(`child failed: ${r.stderr}`);
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeFile, 'utf8'))?.[1]) / 1024;
  return { res: JSON.parse(r.stdout.trim()) as ChildResult, rssMiB: rss, wallS: (performance.now() - t0) / 1000 };
}

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const sizes = [
  { label: '1M', flows: 1_000_000 },
  { label: '10M', flows: 10_000_000 },
].filter((s) => !only || s.label === only);

const lines = [
  '| live flows in capture | meters | --max-flows | live at end | table slots | evicted | peak RSS MiB | RSS per live flow, bytes | typed state per slot, bytes | wall s |',
  '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
];
for (const s of sizes) {
  const file = path.join(BENCH_DIR, `synflood-${s.label}.pcap`);
  if (!existsSync(file)) {
    process.stderr.write(`writing ${file}...\n`);
    writeFlood(file, s.flows);
  }
  const configs: [string, number][] = [
    ['stats', 1_000_000],
    ['stats', 2 * s.flows],
    ['all', 1_000_000],
    ...(s.flows <= 1_000_000 ? [['all', 2 * s.flows] as [string, number]] : []),
  ];
  const seen = new Set<string>();
  for (const [mode, maxFlows] of configs) {
    const key = `${mode}/${Math.min(maxFlows, 2 * s.flows) >= s.flows ? 'all' : maxFlows}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const { res, rssMiB, wallS } = run(mode, file, maxFlows);
    const slot = Object.entries(res.perSlot)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(', ');
    const line = `| ${s.flows.toLocaleString('en-US')} | ${mode === 'stats' ? 'statistics only' : 'all default'} | ${maxFlows.toLocaleString('en-US')} | ${res.live.toLocaleString('en-US')} | ${res.capacity.toLocaleString('en-US')} | ${res.evictions.toLocaleString('en-US')} | ${rssMiB.toFixed(0)} | ${((rssMiB * 2 ** 20) / res.live).toFixed(0)} | ${slot} | ${wallS.toFixed(1)} |`;
    lines.push(line);
    process.stderr.write(`${line}\n`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
