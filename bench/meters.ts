/**
 * The cost of the feature meters: the pipeline with the statistics meter only vs all default meters, rows
 * discarded (the two "no output" rows of bench/extract.ts, same child code), on several captures in one run.
 *
 *   node --import tsx bench/meters.ts [--runs 3] [capture.pcap ...]
 *
 * Default captures: /tmp/big/lab500.pcap and /tmp/big/mixed500.pcap (build them with
 * ../shared/tools/make-big-pcap.sh: `500 /tmp/big/lab500.pcap ../shared/pcaps/lab/loopback-mix.pcap`, and
 * `500 /tmp/big/mixed500.pcap` for the whole shared corpus). Each child runs under /usr/bin/time; the figure is
 * CPU seconds (user + sys) of the whole process, best of `--runs`, because other work shares the machine. The
 * goal (issue "Encrypted-traffic intelligence"): all default meters at ≥ 75 % of the statistics-only packets per
 * CPU-s, i.e. the "ratio" column ≥ 0.75. The child runs bundled (bench/child.ts), starting as the CLI does; its
 * start-up alone (each mode over a capture of no packets, best of `--runs`) is printed too, and the last column is
 * the ratio of the CPU-s above it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledChild } from './child.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Child mode (also bench/extract.ts's "no output" rows): runExtract with the chosen meters, rows counted and dropped.
if (process.argv[2] === '--child') {
  const [, , , mode, file] = process.argv;
  const { runExtract } = await import('../src/pipeline.ts');
  const { StatsMeter } = await import('../src/features/stats.ts');
  const { defaultMeters } = await import('../src/features/index.ts');
  // 'stats', 'all', or 'stats+name+...' (the statistics meter plus default meters by name, to cost each one).
  const meters =
    mode === 'stats'
      ? [new StatsMeter()]
      : mode === 'all'
        ? defaultMeters()
        : defaultMeters().filter((m) => mode!.split('+').includes(m.name));
  let rows = 0;
  const s = await runExtract({
    inputs: [file!],
    meters,
    onFlow: () => {
      rows++;
    },
  });
  process.stdout.write(`${JSON.stringify({ packets: s.packets_read, rows })}\n`);
  process.exit(0);
}

const argv = process.argv.slice(2);
let runs = 3;
let modes = ['stats', 'all'];
const files: string[] = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--runs') runs = Math.max(1, Number(argv[++i]));
  else if (argv[i] === '--modes') modes = argv[++i]!.split(',');
  else files.push(argv[i]!);
}
if (files.length === 0) files.push('/tmp/big/lab500.pcap', '/tmp/big/mixed500.pcap');

const scratch = mkdtempSync(path.join(os.tmpdir(), 'flowsieve-meters-'));
const child = bundledChild(scratch);
// A capture of no packets (the 24-byte pcap file header, Ethernet): what each mode costs before the first packet.
const empty = path.join(scratch, 'empty.pcap');
const header = Buffer.alloc(24);
header.writeUInt32LE(0xa1b2c3d4, 0);
header.writeUInt16LE(2, 4);
header.writeUInt16LE(4, 6);
header.writeUInt32LE(65535, 16);
header.writeUInt32LE(1, 20);
writeFileSync(empty, header);

function cpuSeconds(mode: string, file: string): { cpuS: number; packets: number } {
  const timeFile = path.join(scratch, 'time.txt');
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, ...child, mode, file], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`child ${mode} ${file} failed: ${r.stderr}`);
  const [u, s] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return { cpuS: u! + s!, packets: JSON.parse(r.stdout.trim()).packets as number };
}

const lines = [
  `load average at start ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}; best of ${runs} runs (CPU s = user + sys of the whole process)`,
  '',
  '| capture | packets | meters | CPU s | packets per CPU-s | ratio to stats only | CPU s past start-up | ratio past start-up |',
  '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
];
try {
  const startup = new Map<string, number>(modes.map((m) => [m, Number.POSITIVE_INFINITY]));
  for (let r = 0; r < runs; r++)
    for (const mode of modes) startup.set(mode, Math.min(startup.get(mode)!, cpuSeconds(mode, empty).cpuS));
  lines.splice(
    1,
    0,
    `start-up (no packets): ${modes.map((m) => `${m} ${startup.get(m)!.toFixed(2)} CPU s`).join(', ')}`,
  );
  for (const file of files) {
    if (!existsSync(file)) {
      process.stderr.write(`missing ${file}\n`);
      continue;
    }
    execFileSync('cat', [file], { stdio: 'ignore' }); // warm the page cache
    const best = new Map<string, number>(modes.map((m) => [m, Number.POSITIVE_INFINITY]));
    let packets = 0;
    // Interleave the modes so a burst of outside load hits them alike.
    for (let r = 0; r < runs; r++) {
      for (const mode of modes) {
        const m = cpuSeconds(mode, file);
        packets = m.packets;
        best.set(mode, Math.min(best.get(mode)!, m.cpuS));
        process.stderr.write(`${path.basename(file)} ${mode} run ${r + 1}: ${m.cpuS.toFixed(2)} CPU s\n`);
      }
    }
    const stats = best.get('stats');
    const statsNet = stats === undefined ? undefined : stats - startup.get('stats')!;
    for (const [mode, cpu] of best) {
      const ratio = stats === undefined ? '' : (stats / cpu).toFixed(2);
      const net = cpu - startup.get(mode)!;
      const ratioNet = statsNet === undefined ? '' : (statsNet / net).toFixed(2);
      lines.push(
        `| ${path.basename(file)} | ${packets.toLocaleString('en-US')} | ${mode} | ${cpu.toFixed(2)} | ${Math.round(packets / cpu).toLocaleString('en-US')} | ${ratio} | ${net.toFixed(2)} | ${ratioNet} |`,
      );
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.stdout.write(`${lines.join('\n')}\n`);
