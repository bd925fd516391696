/**
 * `flowsieve classify` — score every flow: `p_malicious`, `verdict` at the model's threshold, and the top three
 * reasons (Saabas path contributions: how much each feature moved the score along the flow's decision paths).
 * A ranked "riskiest flows" list goes to stderr; `--min-score` keeps only risky flows (pre-filtering traffic
 * before expensive inspection); `--fail-on-score` exits 1 when any flow reaches it.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Command } from 'commander';
import { CompiledForest } from '../ml/compile.ts';
import { columnKey, featureMatrix } from '../ml/dataset.ts';
import { topReasons } from '../ml/explain.ts';
import type { RawTable } from '../ml/table.ts';
import { EXIT_FINDINGS, info, UserError } from './common.ts';
import { DEFAULT_MODEL_PATH, loadModelOrFail } from './evaluate.ts';
import { asUserError, loadTables, mapFeatures, modelForReport, writeReportFile } from './train.ts';

/** Identity columns copied to the output when the input has them (first match per key wins). */
const PASS_THROUGH = [
  'flow_id',
  'Flow ID',
  'source_file',
  'src_ip',
  'Src IP',
  'Source IP',
  'src_port',
  'Src Port',
  'Source Port',
  'dst_ip',
  'Dst IP',
  'Destination IP',
  'dst_port',
  'Dst Port',
  'Destination Port',
  'protocol',
  'Protocol',
  'first_seen_us',
  'Timestamp',
  'last_seen_us',
  'Label',
  'label',
];

interface ClassifyCliOptions {
  model?: string;
  output?: string;
  minScore?: string;
  top: string;
  failOnScore?: string;
  report?: string;
  quiet?: boolean;
}

type OutRow = Record<string, string | number | null | string[]>;

function parseScore(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || x > 1) throw new UserError(`${name}: expected a score in [0, 1], got '${v}'`);
  return x;
}

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : Array.isArray(v) ? v.join(';') : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function writeOut(path: string | undefined, columns: string[], rows: OutRow[]): Promise<void> {
  const fmt =
    !path || path === '-'
      ? 'jsonl'
      : path.toLowerCase().endsWith('.csv')
        ? 'csv'
        : path.toLowerCase().endsWith('.parquet')
          ? 'parquet'
          : path.toLowerCase().endsWith('.jsonl') ||
              path.toLowerCase().endsWith('.json') ||
              path.toLowerCase().endsWith('.ndjson')
            ? 'jsonl'
            : null;
  if (fmt === null) throw new UserError(`-o ${path}: unknown output format (use .jsonl, .csv or .parquet)`);
  if (fmt === 'parquet') {
    const arrow = await import('apache-arrow');
    const pq = await import('parquet-wasm/node');
    const data: Record<string, unknown[]> = {};
    for (const c of columns)
      data[c] = rows.map((r) => (Array.isArray(r[c]) ? (r[c] as string[]).join(';') : (r[c] ?? null)));
    const vectors: Record<string, import('apache-arrow').Vector> = {};
    for (const c of columns) {
      const vals = data[c]!;
      vectors[c] = vals.every((v) => v === null || typeof v === 'number')
        ? arrow.vectorFromArray(vals as (number | null)[], new arrow.Float64())
        : arrow.vectorFromArray(
            vals.map((v) => (v === null ? null : String(v))),
            new arrow.Utf8(),
          );
    }
    const table = new arrow.Table(vectors);
    const bytes = pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(path!, bytes);
    return;
  }
  const out: NodeJS.WritableStream = !path || path === '-' ? process.stdout : createWriteStream(path);
  const write = (s: string): Promise<void> =>
    new Promise((resolve) => {
      if (out.write(s)) resolve();
      else (out as WriteStream).once('drain', () => resolve());
    });
  if (fmt === 'csv') {
    await write(`${columns.map(csvCell).join(',')}\n`);
    for (const r of rows) await write(`${columns.map((c) => csvCell(r[c])).join(',')}\n`);
  } else {
    for (const r of rows) await write(`${JSON.stringify(r)}\n`);
  }
  if (out !== process.stdout)
    await new Promise<void>((resolve, reject) =>
      (out as WriteStream).end((e?: Error | null) => (e ? reject(e) : resolve())),
    );
}

/**
 * Every scored flow as a flat report row (all input columns, numbers as numbers) plus `p_malicious`, `verdict`
 * and `reasons`; built lazily, one row at a time, so the report's single pass holds no second copy of the flows.
 */
function* scoredRows(
  scored: { t: RawTable; p: Float64Array; reasons: Map<number, string[]> }[],
  threshold: number,
): Generator<Record<string, unknown>> {
  for (const { t, p, reasons } of scored) {
    const hasSource = t.names.includes('source_file');
    for (let r = 0; r < t.nRows; r++) {
      const row: Record<string, unknown> = {};
      if (!hasSource) row.source_file = t.source;
      for (let c = 0; c < t.names.length; c++) {
        const v = t.cells[c]![r];
        if (v === null || v === undefined || v === '') continue;
        const x = Number(v);
        row[t.names[c]!] = Number.isFinite(x) && /^-?\d/.test(v) ? x : v;
      }
      const score = p[r]!;
      row.p_malicious = score;
      row.verdict = score >= threshold ? 'malicious' : 'benign';
      const why = reasons.get(r);
      if (why) row.reasons = why;
      yield row;
    }
  }
}

export function register(program: Command): void {
  program
    .command('classify')
    .description('Score flows with a model: p_malicious, verdict and top-3 reasons per flow; riskiest flows on stderr')
    .argument('[inputs...]', 'captures, flow tables, or - for stdin', ['-'])
    .option(
      '--model <model.json>',
      `model file (default: the bundled ${DEFAULT_MODEL_PATH.split('/').slice(-2).join('/')})`,
    )
    .option('-o, --output <file>', 'out.jsonl | out.csv | out.parquet (default: JSON Lines on stdout)')
    .option('--min-score <p>', 'keep only flows with p_malicious ≥ p')
    .option('--top <N>', 'riskiest flows listed on stderr (0 = none)', '10')
    .option('--fail-on-score <p>', 'exit 1 when any flow has p_malicious ≥ p')
    .option('--report <file.html>', 'also write an HTML report of all scored flows (riskiest flows, profiles)')
    .option('-q, --quiet', 'no summary on stderr')
    .addHelpText(
      'after',
      `
Examples:
  $ flowsieve classify capture.pcap -o scored.jsonl
  $ flowsieve classify capture.pcap -o scored.jsonl --report report.html
  $ flowsieve extract capture.pcap -o - | flowsieve classify - --min-score 0.5 --top 20`,
    )
    .action(async (inputs: string[], o: ClassifyCliOptions) => {
      const minScore = parseScore('--min-score', o.minScore);
      const failOn = parseScore('--fail-on-score', o.failOnScore);
      const top = Number(o.top);
      if (!Number.isInteger(top) || top < 0)
        throw new UserError(`--top: expected a non-negative integer, got '${o.top}'`);
      const model = loadModelOrFail(o.model);
      const features = model.file.features;
      const tables: RawTable[] = (await loadTables(inputs.length ? inputs : ['-'], o.quiet === true)).map((t) =>
        mapFeatures(t, features),
      );
      const cf = new CompiledForest(model.forest);
      const thr = model.file.threshold;
      const rows: OutRow[] = [];
      const contrib = new Float64Array(features.length);
      let passCols: string[] = [];
      let flagged = 0;
      let total = 0;
      let maxScore = 0;
      // For --report: every flow's score and the reasons of the rows written (all flows, not only --min-score).
      const scored: { t: RawTable; p: Float64Array; reasons: Map<number, string[]> }[] = [];
      for (const t of tables) {
        let x: Float32Array;
        try {
          x = featureMatrix(t, features);
        } catch (e) {
          asUserError(e);
        }
        const n = t.nRows;
        const p = cf.pMalicious(x, n);
        const reasonsOf = new Map<number, string[]>();
        if (o.report) scored.push({ t, p, reasons: reasonsOf });
        // One output column per identity key, whatever the dialect calls it.
        const seenKeys = new Set<string>();
        const pass: [string, number][] = [];
        for (const name of PASS_THROUGH) {
          const i = t.names.indexOf(name);
          const key = columnKey(name);
          if (i >= 0 && !seenKeys.has(key)) {
            seenKeys.add(key);
            pass.push([name, i]);
          }
        }
        const showSource = tables.length > 1 && !t.names.includes('source_file');
        for (const [name] of pass) if (!passCols.includes(name)) passCols.push(name);
        if (showSource && !passCols.includes('source_file')) passCols = ['source_file', ...passCols];
        for (let r = 0; r < n; r++) {
          total++;
          const score = p[r]!;
          maxScore = Math.max(maxScore, score);
          if (score >= thr) flagged++;
          if (minScore !== undefined && score < minScore) continue;
          const row: OutRow = {};
          if (showSource) row.source_file = t.source;
          for (const [name, i] of pass) {
            const v = t.cells[i]![r] ?? null;
            row[name] = v !== null && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
          }
          row.p_malicious = Number(score.toFixed(6));
          row.verdict = score >= thr ? 'malicious' : 'benign';
          row.reasons = topReasons(model.forest, features, x, n, r, contrib);
          if (o.report) reasonsOf.set(r, row.reasons);
          rows.push(row);
        }
      }
      const columns = [...passCols, 'p_malicious', 'verdict', 'reasons'];
      await writeOut(o.output, columns, rows);
      if (o.quiet !== true) {
        info(
          `classified ${total} flows: ${flagged} malicious at threshold ${thr.toFixed(4)}${minScore !== undefined ? `, ${rows.length} with p_malicious ≥ ${minScore} written` : ''}`,
        );
        if (top > 0 && rows.length > 0) {
          const ranked = rows
            .map((r, i) => ({ r, i }))
            .sort((a, b) => (b.r.p_malicious as number) - (a.r.p_malicious as number) || a.i - b.i)
            .slice(0, top);
          info(`riskiest ${ranked.length} flows:`);
          for (const { r } of ranked) {
            const who = ['src_ip', 'Src IP', 'Source IP'].map((k) => r[k]).find((v) => v !== undefined);
            const sp = ['src_port', 'Src Port', 'Source Port'].map((k) => r[k]).find((v) => v !== undefined);
            const dst = ['dst_ip', 'Dst IP', 'Destination IP'].map((k) => r[k]).find((v) => v !== undefined);
            const dp = ['dst_port', 'Dst Port', 'Destination Port'].map((k) => r[k]).find((v) => v !== undefined);
            const ends = who !== undefined ? `${who}:${sp ?? ''} → ${dst ?? ''}:${dp ?? ''}` : `row`;
            info(
              `  ${(r.p_malicious as number).toFixed(4)}  ${String(r.verdict).padEnd(9)} ${ends}  ${(r.reasons as string[]).join('; ')}`,
            );
          }
        }
      }
      if (o.report) {
        await writeReportFile(
          {
            title: `flowsieve classify: ${tables
              .map((t) => t.source)
              .join(', ')
              .slice(0, 120)}`,
            sources: tables.map((t) => t.source).slice(0, 50),
            flows: scoredRows(scored, thr),
            model: modelForReport(model.file),
            threshold: thr,
          },
          o.report,
        );
      }
      if (failOn !== undefined && maxScore >= failOn) process.exitCode = EXIT_FINDINGS;
    });
}
