/**
 * `npm run bench`: flowsieve extract next to the reference tools on the same captures, in one run (issue 6).
 *
 *   npm run bench                       # both captures, 1 run per command
 *   npm run bench -- --runs 3           # median of 3 runs
 *   npm run bench -- --only lab         # one capture (lab | mixed)
 *   npm run bench -- --no-append        # print only, do not touch bench/results.md
 *
 * Captures are built once, outside the repository (FLOWSIEVE_BENCH_DIR, default /tmp/flowsieve-bench), with
 * ../shared/tools/make-big-pcap.sh: `lab500.pcap` repeats ../shared/pcaps/lab/loopback-mix.pcap to 500 MiB (the
 * capture the issue's reference figures were measured on), `mixed500.pcap` lays the whole shared corpus end to
 * end. Every command runs as a child under /usr/bin/time -v: wall time (our clock), CPU time (user + sys) and
 * peak RSS. Packets/s is given per wall second and per CPU second: when other work shares the machine the CPU
 * figure is the steadier one (for --threads 2 it sums both cores, so compare wall times there).
 * Rows: flowsieve with all default meters to Parquet, CSV and JSONL (1 thread) and to Parquet and JSONL with 2
 * threads, classify with the bundled model (Parquet and JSONL; Parquet with 2 threads too), the cost of the
 * features (statistics only vs all default meters, rows discarded), then tcpdump, ndpiReader, nfpcapd and argus.
 * The table is printed and appended, dated, with machine and commit, to bench/results.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledChild } from './child.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = path.resolve(ROOT, '../shared');
const BENCH_DIR = process.env.FLOWSIEVE_BENCH_DIR ?? '/tmp/flowsieve-bench';
const RESULTS = path.join(ROOT, 'bench/results.md');

interface Args {
  runs: number;
  only: string | undefined;
  append: boolean;
}
function parseArgs(argv: string[]): Args {
  const a: Args = { runs: 1, only: undefined, append: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') a.runs = Math.max(1, Number(argv[++i]));
    else if (argv[i] === '--only') a.only = argv[++i];
    else if (argv[i] === '--no-append') a.append = false;
  }
  return a;
}

interface Capture {
  name: string;
  file: string;
  inputs: string[];
}

function ensureCapture(c: Capture): void {
  if (existsSync(c.file)) return;
  mkdirSync(path.dirname(c.file), { recursive: true });
  process.stderr.write(`building ${c.file} (make-big-pcap.sh, a few minutes)...\n`);
  execFileSync('bash', [path.join(SHARED, 'tools/make-big-pcap.sh'), '500', c.file, ...c.inputs], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

function packetCount(file: string): number {
  const out = execFileSync('capinfos', ['-T', '-r', '-M', '-c', file], { encoding: 'utf8' });
  return Number(out.trim().split('\t')[1]);
}

function has(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

interface Measure {
  wallS: number;
  cpuS: number;
  rssMiB: number;
}

/** Run a shell command under /usr/bin/time -v; null when it fails. */
function measure(cmd: string, scratch: string): Measure | null {
  const timeFile = path.join(scratch, 'time.txt');
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', '-o', timeFile, 'bash', '-c', cmd], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 64 << 20,
  });
  const wallS = (performance.now() - t0) / 1000;
  if (r.status !== 0) {
    process.stderr.write(`FAILED: ${cmd}\n${r.stderr.toString().split('\n').slice(-4).join('\n')}\n`);
    return null;
  }
  const t = readFileSync(timeFile, 'utf8');
  const num = (re: RegExp) => Number(re.exec(t)?.[1] ?? Number.NaN);
  return {
    wallS,
    cpuS: num(/User time \(seconds\): ([\d.]+)/) + num(/System time \(seconds\): ([\d.]+)/),
    rssMiB: num(/Maximum resident set size \(kbytes\): (\d+)/) / 1024,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Row {
  name: string;
  cmd: string;
  bin: string;
}

function commands(file: string, scratch: string, child: string): Row[] {
  const q = `'${file}'`;
  const fs = `node bin/flowsieve.js extract ${q} -q`;
  // The library pipeline without an output (feature-cost rows): bench/meters.ts's child, one implementation,
  // bundled as the CLI is (bench/child.ts).
  const self = child;
  return [
    {
      name: 'flowsieve extract → Parquet, all default features, 1 thread',
      bin: 'node',
      cmd: `${fs} -o ${scratch}/o1.parquet`,
    },
    // The output formats side by side: minus the "no output" row below, what turning flows into files costs.
    { name: 'flowsieve extract → CSV, all default features, 1 thread', bin: 'node', cmd: `${fs} -o ${scratch}/o1.csv` },
    {
      name: 'flowsieve extract → JSONL, all default features, 1 thread',
      bin: 'node',
      cmd: `${fs} -o ${scratch}/o1.jsonl`,
    },
    // Parquet with 2 threads: pipeline in the main thread, row groups encoded on a second (src/output/encoder-thread.ts).
    {
      name: 'flowsieve extract → Parquet, all default features, --threads 2 (encoder thread)',
      bin: 'node',
      cmd: `${fs} -o ${scratch}/o2.parquet --threads 2`,
    },
    // JSONL with 2 threads: two flow shards (src/parallel), each formatting its own lines.
    {
      name: 'flowsieve extract → JSONL, all default features, --threads 2 (2 shards)',
      bin: 'node',
      cmd: `${fs} -o ${scratch}/o2.jsonl --threads 2`,
    },
    // Issue 6 asks classify for at least 80% of extract's packet rate: compare with the extract rows of the same
    // format (classify writes identity, score, verdict and reasons, not every feature).
    {
      name: 'flowsieve classify → Parquet, bundled model, 1 thread',
      bin: 'node',
      cmd: `node bin/flowsieve.js classify ${q} -q --top 0 -o ${scratch}/c1.parquet`,
    },
    {
      name: 'flowsieve classify → JSONL, bundled model, 1 thread',
      bin: 'node',
      cmd: `node bin/flowsieve.js classify ${q} -q --top 0 -o ${scratch}/c1.jsonl`,
    },
    // 2 threads: a worker extracts and stages the model's features, the main thread scores and writes.
    {
      name: 'flowsieve classify → Parquet, bundled model, --threads 2 (staging worker)',
      bin: 'node',
      cmd: `node bin/flowsieve.js classify ${q} -q --top 0 -o ${scratch}/c2.parquet --threads 2`,
    },
    { name: 'flowsieve pipeline, statistics meter only, no output', bin: 'node', cmd: `${self} stats ${q}` },
    { name: 'flowsieve pipeline, all default meters, no output', bin: 'node', cmd: `${self} all ${q}` },
    { name: 'tcpdump -r -w /dev/null (raw read+write)', bin: 'tcpdump', cmd: `tcpdump -n -r ${q} -w /dev/null` },
    { name: 'ndpiReader -q (DPI + flows)', bin: 'ndpiReader', cmd: `ndpiReader -q -i ${q}` },
    {
      name: 'nfpcapd -r (NetFlow uniflows)',
      bin: 'nfpcapd',
      cmd: `rm -rf ${scratch}/nf && mkdir ${scratch}/nf && nfpcapd -r ${q} -w ${scratch}/nf`,
    },
    { name: 'argus -r -w /dev/null (bidir flows)', bin: 'argus', cmd: `argus -r ${q} -w /dev/null` },
  ];
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    return dirty.trim() ? `${head} (+ uncommitted changes)` : head;
  } catch {
    return 'unknown';
  }
}

/**
 * What a second thread can add on this machine right now: a fixed arithmetic loop in one process, then in two at
 * once; the ratio of the work done per second. On the 2-vCPU bench VM it varied from 1.16 to 2.0 within minutes
 * (the host's other guests), which bounds every --threads 2 row of the run.
 */
function parallelCapacity(): number {
  const loop =
    'const a=new Float64Array(65536);let s=0;for(let k=0;k<2000;k++)for(let i=0;i<a.length;i++){a[i]=a[i]*1.0000001+i;s+=a[i];}if(s<0)console.log(s)';
  const time = (procs: number): number => {
    const t0 = performance.now();
    execFileSync('bash', ['-c', `${Array(procs).fill(`node -e '${loop}'`).join(' & ')} & wait`]);
    return performance.now() - t0;
  };
  const one = Math.min(time(1), time(1));
  const two = Math.min(time(2), time(2));
  return (2 * one) / two;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // The reference tools write to /dev/null. On 2026-11-26 it had become a regular file on this machine (an
  // `extract -o /dev/null` run as root renamed its output over it, since fixed), so tcpdump and argus had been
  // writing hundreds of MB to disk: tcpdump took 0.65–0.69 s on lab500 then, 0.32 s once /dev/null was a device.
  if (!statSync('/dev/null').isCharacterDevice()) {
    console.error(
      'bench: /dev/null is not a character device; the reference rows would write to disk. Restore it first.',
    );
    process.exit(1);
  }
  // Measure what users run: the bundled CLI (bin/flowsieve.js falls back to tsx when dist/ is older than src/).
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  const captures: Capture[] = [
    {
      name: 'lab',
      file: path.join(BENCH_DIR, 'lab500.pcap'),
      inputs: [path.join(SHARED, 'pcaps/lab/loopback-mix.pcap')],
    },
    { name: 'mixed', file: path.join(BENCH_DIR, 'mixed500.pcap'), inputs: [] },
  ].filter((c) => !args.only || c.name === args.only);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'flowsieve-bench-'));
  const child = bundledChild(scratch)
    .map((a) => `'${a}'`)
    .join(' ');
  const load = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
  const machine = `${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
  const capacity = parallelCapacity();
  const out: string[] = [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')} — commit ${gitCommit()}`,
    '',
    `Machine: ${machine}; load average at start ${load}; ${args.runs} run(s) per command, median shown.`,
    `Parallel capacity at start: two busy loops at once did ${capacity.toFixed(2)}× the work of one in the same time ` +
      '(2.00 = two free cores; the --threads 2 rows cannot beat it).',
    '',
  ];
  try {
    for (const c of captures) {
      ensureCapture(c);
      const bytes = statSync(c.file).size;
      const packets = packetCount(c.file);
      execFileSync('cat', [c.file], { stdio: 'ignore' }); // warm the page cache
      out.push(
        `### ${path.basename(c.file)}: ${packets.toLocaleString('en-US')} packets, ${(bytes / 1e6).toFixed(0)} MB`,
        '',
        '| command | wall s | packets/s (wall) | MB/s (wall) | CPU s | packets/s per CPU-s | peak RSS MiB |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      );
      process.stderr.write(`${c.name}: ${packets} packets\n`);
      for (const row of commands(c.file, scratch, child)) {
        if (!has(row.bin)) {
          out.push(`| ${row.name} | not installed | | | | | |`);
          continue;
        }
        const runs: Measure[] = [];
        for (let r = 0; r < args.runs; r++) {
          const m = measure(row.cmd, scratch);
          if (m) runs.push(m);
        }
        if (runs.length === 0) {
          out.push(`| ${row.name} | failed | | | | | |`);
          continue;
        }
        const w = median(runs.map((m) => m.wallS));
        const cpu = median(runs.map((m) => m.cpuS));
        const rss = median(runs.map((m) => m.rssMiB));
        const line = `| ${row.name} | ${w.toFixed(2)} | ${Math.round(packets / w).toLocaleString('en-US')} | ${(bytes / 1e6 / w).toFixed(1)} | ${cpu.toFixed(2)} | ${Math.round(packets / cpu).toLocaleString('en-US')} | ${rss.toFixed(0)} |`;
        out.push(line);
        process.stderr.write(`${line}\n`);
      }
      out.push('');
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const text = `${out.join('\n')}\n`;
  process.stdout.write(text);
  if (args.append) appendFileSync(RESULTS, `\n${text}`);
}

await main();
