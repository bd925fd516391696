/**
 * Question: how big is the report, and how long does it take, for a million flows?
 *
 *   node --import tsx bench/report.ts [flows=1000000] [--jsonl]
 *
 * Builds synthetic labelled + scored flows (test/report/synthetic.ts) with an evaluation and extract stats, and
 * reports: generation time, the one-pass aggregation time, chart rendering time, total build time, HTML size
 * and peak RSS. With --jsonl the flows are first written to .bench/report-flows.jsonl and the report is built
 * the way `flowsieve report` does it (streamed from the file), which is the realistic path.
 */
import { createWriteStream, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { buildReport, loadReportFiles } from '../src/report/index.ts';
import { syntheticEvaluation, syntheticFlows, syntheticStats } from '../test/report/synthetic.ts';

const n = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const viaJsonl = process.argv.includes('--jsonl');
const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
let peakRss = 0;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);

function print(how: string, totalMs: number, r: Awaited<ReturnType<typeof buildReport>>): void {
  const { aggregateMs, renderMs } = r.timings;
  console.log(
    `report ${how}: ${secs(totalMs)} total = ${secs(aggregateMs)} one pass over the flows (${((aggregateMs * 1e6) / n).toFixed(0)} ns/flow)` +
      ` + ${secs(renderMs)} profiles, ${r.charts} charts and page; HTML ${mb(r.html.length)}`,
  );
}

async function main(): Promise<void> {
  let t = performance.now();
  if (viaJsonl) {
    const dir = path.resolve(import.meta.dirname, '../.bench');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'report-flows.jsonl');
    const out = createWriteStream(file);
    let buf = '';
    for (const row of syntheticFlows(n)) {
      buf += `${JSON.stringify(row)}\n`;
      if (buf.length > 1 << 20) {
        if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
        buf = '';
      }
    }
    out.end(buf);
    await new Promise<void>((r) => out.on('finish', () => r()));
    console.log(
      `wrote ${n.toLocaleString('en-US')} flows as JSONL (${mb(statSync(file).size)}) in ${secs(performance.now() - t)}`,
    );
    t = performance.now();
    const loaded = loadReportFiles([file]);
    const report = await buildReport({
      flows: loaded.flows!,
      evaluation: syntheticEvaluation(),
      stats: syntheticStats(n),
      title: 'bench',
    });
    print('streamed from JSONL', performance.now() - t, report);
  } else {
    const rows = [...syntheticFlows(n)];
    console.log(`generated ${n.toLocaleString('en-US')} flows in memory in ${secs(performance.now() - t)}`);
    t = performance.now();
    const report = await buildReport({
      flows: rows,
      evaluation: syntheticEvaluation(),
      stats: syntheticStats(n),
      title: 'bench',
    });
    print('from an in-memory array', performance.now() - t, report);
  }
  console.log(`peak RSS ${mb(peakRss)}`);
}

await main().finally(() => clearInterval(sampler));
