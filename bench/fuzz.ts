/**
 * Question: does any input make flowsieve throw, hang or lose count of a packet?
 *
 *   npm run fuzz -- --minutes 10 [--seed 42] [--out /tmp/fz] [--budget-ms 30000] [--randpkt-count 20000] [--skip-corpus]
 *   npm run fuzz -- --repro /tmp/fz/crash-dns-1a2b3c4d.bin --target dns --seed 123   (replay one saved input)
 *
 * A worker thread runs, round-robin in time slices:
 * 1. every file of ../shared/pcaps once, unmutated, streamed in random-size chunks through the whole pipeline
 *    (readCaptureStream → FlowPipeline with defaultMeters({ markov: true }));
 * 2. mutated captures (bit flips, byte insert/delete/duplicate, truncation, splicing two captures, pcap caplen/
 *    wirelen and pcapng block-length corruption: test/fixtures-gen/mutate.ts) through the same pipeline;
 * 3. `randpkt -b 2000 -c N -t TYPE` for every TYPE `randpkt -h` lists, through the pipeline (then kept as seeds);
 * 4. the src/proto entry points and decodeFrame called directly with mutated seeds (built by code, plus
 *    payloads taken from the corpus): test/fixtures-gen/targets.ts.
 * Detected: exceptions (deduplicated by target + top stack frames), hangs (the main thread watches a shared
 * heartbeat: an input still running after --budget-ms is saved, the worker is killed and restarted), and
 * accounting violations (packets_read ≠ packets_in_flows + Σ dropped, thrown as AccountingError).
 * Each distinct crash's input is saved under --out (default /tmp/flowsieve-fuzz-<seed>, outside the repo) with
 * its stack and the command that replays it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CaptureError, readCaptureStream } from '../src/capture/index.ts';
import { decodeFrame, PacketView } from '../src/decode/index.ts';
import { detectHttp } from '../src/proto/http.ts';
import { looksLikeQuicInitial } from '../src/proto/quic.ts';
import { startsLikeSsh } from '../src/proto/ssh.ts';
import { mutateBytes, mutateCapture, Rng } from '../test/fixtures-gen/mutate.ts';
import { PARSER_TARGETS, runExtractOnFile, runPipelineOnBytes, targetByName } from '../test/fixtures-gen/targets.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const CORPUS = path.resolve(ROOT, '../shared/pcaps');
/** Files above this are fuzzed through their first MUTATE_PREFIX_BYTES only (a mutation anywhere is as good). */
const MUTATE_PREFIX_BYTES = 2 * 1024 * 1024;
/** Largest input the worker can hand to the watchdog for saving on a hang. */
const INPUT_SLOT_BYTES = 64 * 1024 * 1024;
const SEEDS_PER_TARGET = 400;

interface Options {
  minutes: number;
  seed: number;
  out: string;
  budgetMs: number;
  randpktCount: number;
  repro?: string;
  target: string;
  /** Skip the unmutated pass over the corpus (quick checks of the mutation phases). */
  skipCorpus: boolean;
}

function parseArgs(argv: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const seed = Number(get('--seed') ?? Date.now() % 2 ** 31);
  return {
    minutes: Number(get('--minutes') ?? 1),
    seed,
    out: get('--out') ?? path.join(tmpdir(), `flowsieve-fuzz-${seed}`),
    budgetMs: Number(get('--budget-ms') ?? 30_000),
    randpktCount: Number(get('--randpkt-count') ?? 20_000),
    repro: get('--repro'),
    target: get('--target') ?? 'pipeline',
    skipCorpus: argv.includes('--skip-corpus'),
  };
}

// ---- shared control block between the worker and the watchdog ------------------------------------------------

/** Int32 slots: exec counter, input length, target index (-1 pipeline), busy flag, stop flag. */
const C_EXECS = 0;
const C_LEN = 1;
const C_TARGET = 2;
const C_BUSY = 3;
const C_STOP = 4;
/** Seed of the Rng the current input runs with (chunk sizes, TCP segmentation, link type): part of the replay. */
const C_SEED = 5;
/** Float64 slot: Date.now() when the current input started. */
interface Shared {
  ctrl: Int32Array;
  started: Float64Array;
  input: Uint8Array;
}

function sharedViews(sab: SharedArrayBuffer): Shared {
  return {
    ctrl: new Int32Array(sab, 0, 8),
    started: new Float64Array(sab, 32, 1),
    input: new Uint8Array(sab, 64, INPUT_SLOT_BYTES),
  };
}

const TARGET_NAMES = ['pipeline', ...PARSER_TARGETS.map((t) => t.name)];

interface CrashMsg {
  type: 'crash';
  target: string;
  message: string;
  stack: string;
  input: Uint8Array;
  runSeed: number;
}
interface StatsMsg {
  type: 'stats';
  execs: Record<string, number>;
  corpusFiles: number;
  corpusPackets: number;
  randpktFiles: number;
  randpktPackets: number;
  done: boolean;
}

/** Stack signature: error name plus the first three frames inside the project, without columns. */
function signature(target: string, e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const frames = (err.stack ?? '')
    .split('\n')
    .filter((l) => l.includes('/src/') || l.includes('/test/fixtures-gen/'))
    .slice(0, 3)
    .map((l) => l.replace(/^.*\/(src|test)\//, '$1/').replace(/:\d+\)?$/, ''));
  return `${target}|${err.name}|${frames.join('|')}`;
}

// ---- worker ---------------------------------------------------------------------------------------------------

async function workerMain(): Promise<void> {
  const { sab, seed, minutes, randpktCount, scratchDir, skipCorpusPass } = workerData as {
    sab: SharedArrayBuffer;
    seed: number;
    minutes: number;
    randpktCount: number;
    /** Created and removed by the main thread, so a worker killed by the watchdog leaves nothing behind. */
    scratchDir: string;
    skipCorpusPass: boolean;
  };
  const sh = sharedViews(sab);
  const rng = new Rng(seed);
  const deadline = Date.now() + minutes * 60_000;
  const execs: Record<string, number> = Object.fromEntries(TARGET_NAMES.map((n) => [n, 0]));
  let corpusFiles = 0;
  let corpusPackets = 0;
  let randpktFiles = 0;
  let randpktPackets = 0;
  const reported = new Set<string>();
  const post = (done: boolean) =>
    parentPort!.postMessage({
      type: 'stats',
      execs,
      corpusFiles,
      corpusPackets,
      randpktFiles,
      randpktPackets,
      done,
    } satisfies StatsMsg);
  const stopped = () => Atomics.load(sh.ctrl, C_STOP) === 1 || Date.now() > deadline;

  const begin = (target: number, input: Uint8Array, runSeed: number) => {
    sh.ctrl[C_SEED] = runSeed | 0;
    const n = Math.min(input.length, INPUT_SLOT_BYTES);
    sh.input.set(input.subarray(0, n));
    sh.ctrl[C_LEN] = n;
    sh.ctrl[C_TARGET] = target;
    sh.started[0] = Date.now();
    Atomics.store(sh.ctrl, C_BUSY, 1);
  };
  const end = () => {
    Atomics.store(sh.ctrl, C_BUSY, 0);
    Atomics.add(sh.ctrl, C_EXECS, 1);
  };
  const crash = (target: string, input: Uint8Array, e: unknown, runSeed: number) => {
    const sig = signature(target, e);
    if (reported.has(sig)) return;
    reported.add(sig);
    const err = e instanceof Error ? e : new Error(String(e));
    parentPort!.postMessage({
      type: 'crash',
      target,
      message: `${err.name}: ${err.message}`,
      stack: err.stack ?? '',
      input: input.slice(0, INPUT_SLOT_BYTES),
      runSeed,
    } satisfies CrashMsg);
  };
  const runPipeline = async (input: Uint8Array, name: string): Promise<number> => {
    const runSeed = rng.u32();
    begin(-1, input, runSeed);
    let packets = 0;
    try {
      packets = (await runPipelineOnBytes(input, name, new Rng(runSeed))).stats.packets_read;
    } catch (e) {
      crash('pipeline', input, e, runSeed);
    }
    end();
    execs.pipeline!++;
    return packets;
  };

  // The corpus, in memory (≈100 MB).
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = path.join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (!/\.(csv|md|tsv|json|txt|log)$/i.test(e)) files.push(p);
    }
  };
  try {
    walk(CORPUS);
  } catch {
    // No ../shared: fuzz from randpkt output and built seeds only.
  }
  const captures: Uint8Array[] = [];

  // Seeds for the parser targets: built messages plus payloads pulled out of the corpus.
  const seeds = new Map<string, Uint8Array[]>(PARSER_TARGETS.map((t) => [t.name, t.seeds()]));
  const view = new PacketView();
  const harvest = (buf: Uint8Array, off: number, capLen: number, wireLen: number, ts: number, lt: number) => {
    const frames = seeds.get('decode_frame')!;
    if (frames.length < SEEDS_PER_TARGET && rng.next() < 0.05) frames.push(buf.slice(off, off + capLen));
    if (decodeFrame(view, buf, off, capLen, wireLen, ts, lt) !== 'ok' || view.payloadLen === 0) return;
    const p = buf.subarray(view.payloadOffset, view.payloadOffset + Math.min(view.payloadLen, 16384));
    const add = (name: string, bytes: Uint8Array) => {
      const list = seeds.get(name)!;
      if (list.length < SEEDS_PER_TARGET) list.push(bytes.slice());
    };
    const udp = view.protocol === 17;
    if (view.srcPort === 53 || view.dstPort === 53 || view.srcPort === 5353 || view.dstPort === 5353) add('dns', p);
    else if (p[0] === 0x16 && p[1] === 3) {
      add('tls_stream', p);
      if (p.length > 9) add('tls_messages', p.subarray(9));
    } else if (udp && looksLikeQuicInitial(p, 0, p.length)) add('quic', p);
    else if (!udp && startsLikeSsh(p, 0, p.length)) add('ssh', p);
    else if (!udp && detectHttp(p, 0, p.length) !== 'none') add('http', p);
  };

  // Phase 1: every corpus file once, unmutated.
  for (const f of files) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(f);
    } catch {
      continue;
    }
    captures.push(bytes.length > MUTATE_PREFIX_BYTES ? bytes.slice(0, MUTATE_PREFIX_BYTES) : bytes);
    if (!skipCorpusPass) {
      corpusPackets += await runPipeline(bytes, path.relative(CORPUS, f));
      corpusFiles++;
      if (corpusFiles % 200 === 0) post(false);
    }
    if (captures.length % 4 === 0) {
      try {
        await readCaptureStream(
          (async function* () {
            yield bytes;
          })(),
          f,
          harvest,
        );
      } catch (e) {
        // Not a capture: nothing to harvest. Anything else is a finding.
        if (!(e instanceof CaptureError)) crash('pipeline', bytes, e, 0);
      }
    }
    if (stopped()) break;
  }
  post(false);

  // randpkt types, parsed from its help text so new types are picked up.
  let randpktTypes: string[] = [];
  try {
    execFileSync('randpkt', ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const help = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
    randpktTypes = [...help.matchAll(/^\t(\S+)\s{2,}/gm)].map((m) => m[1]!);
  }
  if (randpktTypes.length === 0) {
    const help = execFileSync('sh', ['-c', 'randpkt -h 2>&1 || true'], { encoding: 'utf8' });
    randpktTypes = [...help.matchAll(/^\t(\S+)\s{2,}/gm)].map((m) => m[1]!);
  }
  const randDir = scratchDir;
  let randpktNext = 0;

  // Phases 2-4 in time slices until the deadline.
  const slice = (ms: number) => {
    const until = Date.now() + ms;
    return () => Date.now() > until || stopped();
  };
  try {
    while (!stopped()) {
      // randpkt: one type per round, then its file joins the mutation corpus.
      if (randpktTypes.length > 0) {
        const type = randpktTypes[randpktNext++ % randpktTypes.length]!;
        const file = path.join(randDir, `${type}.pcap`);
        try {
          execFileSync('randpkt', ['-b', '2000', '-c', String(randpktCount), '-t', type, file], { stdio: 'ignore' });
          const bytes = readFileSync(file);
          randpktPackets += await runPipeline(bytes, `randpkt-${type}.pcap`);
          randpktFiles++;
          captures.push(bytes.slice(0, 256 * 1024));
        } catch (e) {
          process.stderr.write(`randpkt ${type}: ${(e as Error).message}\n`);
        }
      }
      // Mutated captures through the pipeline.
      for (const over = slice(8000); !over(); ) {
        if (captures.length === 0) break;
        const input = mutateCapture(rng, rng.pick(captures), rng.pick(captures));
        if (rng.next() < 0.125) {
          // One in eight through a real file: readCapture's windowed reader parses in place.
          begin(-1, input, 0);
          try {
            await runExtractOnFile(input, path.join(randDir, 'mutated.pcap'));
          } catch (e) {
            crash('pipeline_file', input, e, 0);
          }
          end();
          execs.pipeline!++;
        } else await runPipeline(input, 'mutated.pcap');
      }
      // Parsers directly.
      for (const over = slice(8000); !over(); ) {
        const ti = rng.int(PARSER_TARGETS.length);
        const t = PARSER_TARGETS[ti]!;
        const pool = seeds.get(t.name)!;
        for (let i = 0; i < 200; i++) {
          const r = rng.next();
          const base = rng.pick(pool);
          let input = r < 0.1 ? rng.bytes(rng.int(512)) : mutateBytes(rng, base, r < 0.2 ? rng.pick(pool) : undefined);
          if (rng.next() < 0.3) input = mutateBytes(rng, input);
          const runSeed = rng.u32();
          begin(ti, input, runSeed);
          try {
            t.run(input, new Rng(runSeed));
          } catch (e) {
            crash(t.name, input, e, runSeed);
          }
          end();
          execs[t.name]!++;
        }
      }
      post(false);
    }
  } finally {
    rmSync(path.join(randDir, 'mutated.pcap'), { force: true });
  }
  post(true);
}

// ---- main: watchdog, crash store, summary --------------------------------------------------------------------

async function repro(opts: Options): Promise<void> {
  const input = new Uint8Array(readFileSync(opts.repro!));
  const started = Date.now();
  if (opts.target === 'pipeline_file') {
    const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-repro-'));
    try {
      const stats = await runExtractOnFile(input, path.join(dir, 'input.pcap'));
      console.log(
        JSON.stringify({ file_errors: stats.file_errors, packets_read: stats.packets_read, dropped: stats.dropped }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (opts.target === 'pipeline') {
    const run = await runPipelineOnBytes(input, path.basename(opts.repro!), new Rng(opts.seed));
    console.log(
      JSON.stringify({ fileError: run.fileError, packets_read: run.stats.packets_read, dropped: run.stats.dropped }),
    );
  } else {
    const t = targetByName(opts.target);
    if (!t) throw new Error(`unknown target ${opts.target}; one of ${TARGET_NAMES.join(', ')}`);
    t.run(input, new Rng(opts.seed));
  }
  console.log(`no failure (${Date.now() - started} ms)`);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.repro) return repro(opts);
  mkdirSync(opts.out, { recursive: true });
  const started = Date.now();
  const deadline = started + opts.minutes * 60_000;
  const crashes = new Map<string, { file: string; target: string; message: string; count: number }>();
  let last: StatsMsg | undefined;
  const totals: Record<string, number> = Object.fromEntries(TARGET_NAMES.map((n) => [n, 0]));
  let corpusFiles = 0;
  let corpusPackets = 0;
  let randpktFiles = 0;
  let randpktPackets = 0;
  let peakRssMb = 0;
  let generation = 0;
  /** Executions counted by the shared heartbeat (includes workers killed by the watchdog before reporting). */
  let watchedExecs = 0;

  const save = (target: string, message: string, stack: string, input: Uint8Array, key: string, runSeed: number) => {
    const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
    const file = path.join(opts.out, `crash-${target}-${hash}.bin`);
    writeFileSync(file, input);
    const cmd = `npm run fuzz -- --repro ${file} --target ${target} --seed ${runSeed >>> 0}`;
    writeFileSync(`${file}.txt`, `${message}\n\n${stack}\n\nreproduce: ${cmd}\n`);
    crashes.set(key, { file, target, message, count: 1 });
    console.log(`CRASH ${target}: ${message}\n  saved ${file}\n  reproduce: ${cmd}`);
  };

  while (Date.now() < deadline) {
    const scratchDir = mkdtempSync(path.join(tmpdir(), 'flowsieve-randpkt-'));
    const sab = new SharedArrayBuffer(64 + INPUT_SLOT_BYTES);
    const sh = sharedViews(sab);
    const remainingMin = (deadline - Date.now()) / 60_000;
    // Worker threads do not inherit the tsx loader: register it, then import this file.
    const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
    const worker = new Worker(bootstrap, {
      eval: true,
      workerData: {
        sab,
        seed: (opts.seed + generation * 7919) >>> 0,
        minutes: remainingMin,
        randpktCount: opts.randpktCount,
        scratchDir,
        // After a restart (hang), the corpus pass is not repeated.
        skipCorpusPass: generation > 0 || opts.skipCorpus,
      },
      resourceLimits: { maxOldGenerationSizeMb: 4096 },
    });
    generation++;
    let genStats: StatsMsg | undefined;
    const finished = new Promise<'done' | 'error'>((resolve) => {
      worker.on('message', (m: CrashMsg | StatsMsg) => {
        if (m.type === 'crash') {
          const key = signature(m.target, Object.assign(new Error(m.message), { stack: m.stack }));
          const seen = crashes.get(key);
          if (seen) seen.count++;
          else save(m.target, m.message, m.stack, m.input, key, m.runSeed);
        } else {
          genStats = m;
          last = m;
          if (m.done) resolve('done');
        }
      });
      worker.on('error', (e) => {
        console.log(`worker died: ${e.stack ?? e}`);
        resolve('error');
      });
      worker.on('exit', () => resolve('error'));
    });
    let hung = false;
    const timer = setInterval(() => {
      peakRssMb = Math.max(peakRssMb, process.memoryUsage().rss / 2 ** 20);
      if (Atomics.load(sh.ctrl, C_BUSY) === 1 && Date.now() - sh.started[0]! > opts.budgetMs) {
        hung = true;
        const len = sh.ctrl[C_LEN]!;
        const target = TARGET_NAMES[sh.ctrl[C_TARGET]! + 1] ?? 'pipeline';
        const input = sh.input.slice(0, len);
        const key = `hang|${target}|${createHash('sha256').update(input).digest('hex')}`;
        save(target, `hang: input still running after ${opts.budgetMs} ms`, '', input, key, sh.ctrl[C_SEED]!);
        void worker.terminate();
      }
    }, 250);
    const outcome = await finished;
    clearInterval(timer);
    Atomics.store(sh.ctrl, C_STOP, 1);
    await worker.terminate();
    rmSync(scratchDir, { recursive: true, force: true });
    watchedExecs += Atomics.load(sh.ctrl, C_EXECS);
    if (genStats) {
      for (const [k, n] of Object.entries(genStats.execs)) totals[k] = (totals[k] ?? 0) + n;
      corpusFiles += genStats.corpusFiles;
      corpusPackets += genStats.corpusPackets;
      randpktFiles += genStats.randpktFiles;
      randpktPackets += genStats.randpktPackets;
    }
    if (outcome === 'done' && !hung) break;
    if (!hung && outcome === 'error' && Atomics.load(sh.ctrl, C_EXECS) === 0)
      throw new Error('the fuzz worker failed before its first execution (see above)');
    if (!hung && outcome === 'error') {
      // A worker that died without a hang (out of memory, native crash) is itself a finding.
      const len = sh.ctrl[C_LEN]!;
      const target = TARGET_NAMES[sh.ctrl[C_TARGET]! + 1] ?? 'pipeline';
      save(
        target,
        'worker died while running this input',
        '',
        sh.input.slice(0, len),
        `died|${generation}`,
        sh.ctrl[C_SEED]!,
      );
    }
  }
  void last;
  const all = Object.values(totals).reduce((a, b) => a + b, 0);
  const minutes = (Date.now() - started) / 60_000;
  console.log(
    [
      `fuzz: seed ${opts.seed}, ${minutes.toFixed(1)} min, out ${opts.out}`,
      `executions: ${watchedExecs} by the heartbeat; ${all} reported per target (${Object.entries(totals)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')})`,
      `corpus files: ${corpusFiles} processed unmutated (${corpusPackets} packets)`,
      `randpkt: ${randpktFiles} files (${randpktPackets} packets)`,
      `crashes: ${[...crashes.keys()].filter((k) => !k.startsWith('hang|')).length} distinct by stack, hangs: ${[...crashes.keys()].filter((k) => k.startsWith('hang|')).length} distinct inputs`,
      `process peak RSS (worker included): ${peakRssMb.toFixed(0)} MiB`,
    ].join('\n'),
  );
  for (const c of crashes.values()) console.log(`  ${c.target}: ${c.message} → ${c.file}`);
  process.exitCode = crashes.size > 0 ? 1 : 0;
}

if (isMainThread) await main();
else await workerMain();
