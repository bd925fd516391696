/**
 * Question: does memory stay bounded under a flow flood and under one endless flow?
 *
 *   node --import tsx bench/flood.ts [--flows 10000000] [--max-flows 100000] [--long-bytes 1073741824] [--seed 1]
 *
 * 1. SYN flood: `--flows` SYNs from random IPv4 sources/ports (test/fixtures-gen/hostile.ts synFlood), streamed
 *    from a generator through readCaptureStream into the full pipeline (all meters, Markov included) with the flow
 *    table capped at `--max-flows`. Reports peak RSS, evictions, rows, packets/s; checks the accounting invariant.
 * 2. One TCP flow of `--long-bytes` payload (an HTTP head that never ends), same pipeline: RSS sampled after the
 *    first 10% and at the end; the flow's state must not grow with its length.
 * 3. TLS half-handshake flood: `--tls-flows` connections that each open a ClientHello claiming 64 KiB and then
 *    send 16 out-of-order segments (tlsHalfHandshakeFlood): memory retained by TLS reassembly while all are live.
 * Nothing is written to disk. Run with --expose-gc for steadier numbers.
 */
import { longTcpFlow, synFlood, tlsHalfHandshakeFlood } from '../test/fixtures-gen/hostile.ts';
import { runPipelineOnStream } from '../test/fixtures-gen/targets.ts';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const flows = arg('--flows', 10_000_000);
const maxFlows = arg('--max-flows', 100_000);
const longBytes = arg('--long-bytes', 1024 ** 3);
const seed = arg('--seed', 1);
const tlsFlows = arg('--tls-flows', 20_000);
const MiB = 2 ** 20;

/** Wraps a stream so RSS is sampled every `every` chunks. */
async function* sampled(src: AsyncIterable<Uint8Array>, onSample: () => void, every = 16) {
  let n = 0;
  for await (const c of src) {
    if (++n % every === 0) onSample();
    yield c;
  }
}

async function flood(): Promise<void> {
  const rss0 = process.memoryUsage().rss;
  let peak = rss0;
  /** Peak RSS over each tenth of the flood: flat after the table fills means memory is bounded by the cap. */
  const tenths: number[] = [];
  let rows = 0;
  const sample = () => {
    const r = process.memoryUsage().rss;
    peak = Math.max(peak, r);
    const tenth = Math.min(9, Math.floor((rows * 10) / flows));
    tenths[tenth] = Math.max(tenths[tenth] ?? 0, r);
  };
  const t0 = performance.now();
  const run = await runPipelineOnStream(sampled(synFlood(flows, seed), sample), 'syn-flood.pcap', {
    flow: { maxFlows },
    onFlow: () => {
      rows++;
    },
  });
  sample();
  const s = (performance.now() - t0) / 1000;
  const st = run.stats;
  console.log(
    [
      `SYN flood: ${flows} flows, --max-flows ${maxFlows}`,
      `  packets_read ${st.packets_read}, in flows ${st.packets_in_flows}, dropped ${JSON.stringify(st.dropped)}`,
      `  rows ${rows}, evictions ${st.evictions}, by end reason ${JSON.stringify(st.flows_by_end_reason)}`,
      `  RSS ${(rss0 / MiB).toFixed(0)} MiB before, peak ${(peak / MiB).toFixed(0)} MiB (+${((peak - rss0) / MiB).toFixed(0)} MiB)`,
      `  peak RSS per tenth of the flood (MiB): ${tenths.map((r) => (r / MiB).toFixed(0)).join(' ')}`,
      `  ${s.toFixed(1)} s, ${(flows / s / 1e3).toFixed(0)} k packets/s`,
    ].join('\n'),
  );
  if (rows !== flows) throw new Error(`expected ${flows} rows, got ${rows}`);
}

async function longFlow(): Promise<void> {
  globalThis.gc?.();
  const rss0 = process.memoryUsage().rss;
  let peak = 0;
  let early = 0;
  let chunks = 0;
  const totalChunks = Math.ceil(longBytes / 1460 / 1024);
  const sample = () => {
    const r = process.memoryUsage().rss;
    chunks += 16;
    if (early === 0 && chunks >= totalChunks / 10) early = r;
    if (early > 0) peak = Math.max(peak, r);
  };
  let rows = 0;
  const t0 = performance.now();
  const run = await runPipelineOnStream(sampled(longTcpFlow(longBytes), sample), 'long-flow.pcap', {
    onFlow: () => {
      rows++;
    },
  });
  sample();
  const s = (performance.now() - t0) / 1000;
  console.log(
    [
      `single TCP flow: ${(longBytes / MiB).toFixed(0)} MiB payload, ${run.stats.packets_read} packets, ${rows} row(s)`,
      `  RSS ${(rss0 / MiB).toFixed(0)} MiB before, ${(early / MiB).toFixed(0)} MiB after 10%, peak after that ${(peak / MiB).toFixed(0)} MiB`,
      `  growth from 10% to the end: ${((peak - early) / MiB).toFixed(0)} MiB; ${s.toFixed(1)} s, ${(longBytes / MiB / s).toFixed(0)} MiB/s`,
      `  anomalies ${JSON.stringify(run.stats.anomalies)}`,
    ].join('\n'),
  );
}

async function tlsFlood(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const mem = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const before = mem();
  let atEnd = 0;
  const run = await runPipelineOnStream(tlsHalfHandshakeFlood(tlsFlows), 'tls-flood.pcap', {
    markov: false,
    onFlow: () => {
      if (atEnd > 0) return;
      gc?.();
      atEnd = mem();
    },
  });
  const grown = atEnd - before;
  console.log(
    [
      `TLS half-handshake flood: ${tlsFlows} live flows, ${run.stats.packets_read} packets`,
      `  heap + array buffers retained with all flows live: ${(grown / MiB).toFixed(0)} MiB (${(grown / tlsFlows / 1024).toFixed(1)} KiB per flow)`,
      `  anomalies ${JSON.stringify(run.stats.anomalies)}`,
    ].join('\n'),
  );
}

await flood();
await longFlow();
await tlsFlood();
