/**
 * `flowsieve classify` — score every flow: `p_malicious`, `verdict` at the model's threshold, and the top three
 * reasons (Saabas path contributions: how much each feature moved the score along the flow's decision paths).
 * A ranked "riskiest flows" list goes to stderr; `--min-score` keeps only risky flows (pre-filtering traffic
 * before expensive inspection); `--fail-on-score` exits 1 when any flow reaches it.
 */
import type { Command } from 'commander';
import { extract } from '../api.ts';
import type { ColumnSpec } from '../features/meter.ts';
import { CompiledForest } from '../ml/compile.ts';
import { columnKey, detectDialect, featureMatrix } from '../ml/dataset.ts';
import { topReasons } from '../ml/explain.ts';
import type { RawTable } from '../ml/table.ts';
import { columnAccessor } from '../output/columns.ts';
import { openSink } from '../output/index.ts';
import { IDENTITY_COLUMNS } from '../pipeline.ts';
import { FlowScorer } from '../score.ts';
import { cellText, featureOptionsFor, featuresWithoutSource, flowColumns, mapFeatures } from '../tables.ts';
import { resolveInputs } from '../train.ts';
import { EXIT_FINDINGS, formatCount, info, parsePositiveInt, progressBar, UserError, warn } from './common.ts';
import { DEFAULT_MODEL_PATH, loadModelOrFail } from './evaluate.ts';
import { asUserError, modelForReport, writeReportFile } from './train.ts';

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
  threads: string;
}

type OutRow = Record<string, string | number | null | string[]>;

/** A cell that is a plain decimal number (identity columns are written as numbers when every cell is one). */
const NUMBER = /^-?\d+(\.\d+)?$/;

/** An output column copied from the input: its name and its value in row r of the current batch. */
type PassColumn = [string, (r: number) => string | number | null];

/**
 * A flow record's identity value as the output shows it: what its flow-table cell (cellText) gives after the same
 * number test a table cell gets, without formatting and parsing every number.
 */
function capturePassValue(v: unknown, text: boolean): string | number | null {
  if (v === null || v === undefined) return null;
  if (!text && typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 1e21) return v + 0;
  const cell = cellText(v)!;
  return text ? cell : NUMBER.test(cell) ? Number(cell) : null;
}

function parseScore(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || x > 1) throw new UserError(`${name}: expected a score in [0, 1], got '${v}'`);
  return x;
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
    .option('--threads <n>', 'worker threads extracting each capture (sharded by flow hash; scoring stays here)', '1')
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
      const threads = parsePositiveInt('--threads', o.threads);
      const failOn = parseScore('--fail-on-score', o.failOnScore);
      const top = Number(o.top);
      if (!Number.isInteger(top) || top < 0)
        throw new UserError(`--top: expected a non-negative integer, got '${o.top}'`);
      const model = loadModelOrFail(o.model);
      const features = model.file.features;
      const thr = model.file.threshold;
      let items: Awaited<ReturnType<typeof resolveInputs>>;
      try {
        items = await resolveInputs(inputs.length ? inputs : ['-']);
      } catch (e) {
        asUserError(e);
      }
      // Flow tables are read whole (they are files of flows already); captures are extracted and scored as their
      // flows finish, in batches, so memory does not grow with the capture and a live pipe yields verdicts live.
      const tables = items.flatMap((it) => ('table' in it ? [mapFeatures(it.table, features)] : []));
      const captures = items.flatMap((it) => ('capture' in it ? [it.capture] : []));
      const unmapped = featuresWithoutSource(features);
      if (unmapped.length > 0 && (captures.length > 0 || tables.some((t) => detectDialect(t.names) === 'flowsieve'))) {
        warn(
          `the model reads ${unmapped.join(', ')}, which flowsieve does not measure the same way: scored as missing`,
        );
      }
      const showSource = items.length > 1;
      const captureNames = new Set(flowColumns().map((c) => c.key));
      // One output column per identity key, whatever the dialect calls it (first match per key wins).
      const passOf = (names: readonly string[]): [string, number][] => {
        const seen = new Set<string>();
        const pass: [string, number][] = [];
        for (const name of PASS_THROUGH) {
          const i = names.indexOf(name);
          if (i >= 0 && !seen.has(columnKey(name))) {
            seen.add(columnKey(name));
            pass.push([name, i]);
          }
        }
        return pass;
      };
      const passCols: string[] = [];
      const numeric = new Map<string, boolean>();
      for (const t of tables) {
        for (const [name, i] of passOf(t.names)) {
          if (!passCols.includes(name)) passCols.push(name);
          const allNumeric = t.cells[i]!.every((v) => v === null || v === '' || NUMBER.test(v));
          numeric.set(name, (numeric.get(name) ?? true) && allNumeric);
        }
      }
      const capturePass = PASS_THROUGH.filter((n) => captureNames.has(n) && n !== 'source_file');
      if (captures.length > 0) {
        for (const name of capturePass) {
          if (!passCols.includes(name)) passCols.push(name);
          const spec = IDENTITY_COLUMNS.find((c) => c.key === name);
          numeric.set(name, (numeric.get(name) ?? true) && spec?.type === 'int');
        }
      }
      if (showSource && !passCols.includes('source_file')) passCols.unshift('source_file');
      const columns: ColumnSpec[] = [
        ...passCols.map((key): ColumnSpec => ({ key, type: numeric.get(key) ? 'float' : 'string', unit: '', doc: '' })),
        { key: 'p_malicious', type: 'float', unit: '', doc: '' },
        { key: 'verdict', type: 'string', unit: '', doc: '' },
        { key: 'reasons', type: 'string_list', unit: '', doc: '' },
      ];
      const stringCols = new Set(columns.filter((c) => c.type === 'string').map((c) => c.key));
      const captureSpecs = new Map(flowColumns().map((c) => [c.key, c]));
      const captureGetters = capturePass.map((name) => columnAccessor(captureSpecs.get(name)!));
      const sink = openSink({ path: o.output ?? '-', columns });

      let flagged = 0;
      let total = 0;
      let written = 0;
      let maxScore = 0;
      // The riskiest `top` written rows, best first (ties: earlier row first).
      const riskiest: { p: number; row: OutRow }[] = [];
      // For --report: every flow's score and the reasons of the rows written (all flows, not only --min-score).
      const scored: { t: RawTable; p: Float64Array; reasons: Map<number, string[]> }[] = [];

      /** Pass-through columns of a flow table: its cells, numbers as numbers in numeric columns. */
      const tablePass = (t: RawTable): PassColumn[] =>
        passOf(t.names).map(([name, i]) => {
          const col = t.cells[i]!;
          const text = stringCols.has(name);
          return [
            name,
            (r: number) => {
              const v = col[r] ?? null;
              return v === null || text ? v : NUMBER.test(v) ? Number(v) : null;
            },
          ];
        });

      /**
       * Score rows 0..n-1 of a batch (p given), writing those at or above --min-score; `report` is the batch as a
       * table for --report.
       */
      const emit = (
        n: number,
        p: Float64Array,
        reasonsOf: (r: number) => string[],
        pass: PassColumn[],
        source: string | null,
        report: RawTable,
      ): void => {
        const why = new Map<number, string[]>();
        if (o.report) scored.push({ t: report, p, reasons: why });
        for (let r = 0; r < n; r++) {
          total++;
          const score = p[r]!;
          maxScore = Math.max(maxScore, score);
          if (score >= thr) flagged++;
          if (minScore !== undefined && score < minScore) continue;
          const row: OutRow = {};
          if (source !== null) row.source_file = source;
          for (const [name, value] of pass) row[name] = value(r);
          row.p_malicious = Number(score.toFixed(6));
          row.verdict = score >= thr ? 'malicious' : 'benign';
          row.reasons = reasonsOf(r);
          if (o.report) why.set(r, row.reasons);
          sink.write(row);
          written++;
          if (top > 0 && (riskiest.length < top || score > riskiest[riskiest.length - 1]!.p)) {
            let j = riskiest.length;
            while (j > 0 && riskiest[j - 1]!.p < score) j--;
            riskiest.splice(j, 0, { p: score, row });
            if (riskiest.length > top) riskiest.pop();
          }
        }
      };

      try {
        const cf = new CompiledForest(model.forest);
        const contrib = new Float64Array(features.length);
        for (const t of tables) {
          const x = featureMatrix(t, features);
          const p = cf.pMalicious(x, t.nRows);
          const src = showSource && !t.names.includes('source_file') ? t.source : null;
          const leaves = cf.leafIndices(x, t.nRows);
          const reasonsOf = (r: number) => topReasons(model.forest, features, x, t.nRows, r, contrib, 3, leaves);
          emit(t.nRows, p, reasonsOf, tablePass(t), src, t);
        }
        const bar = progressBar('classify', o.quiet === true);
        try {
          for (const [n, file] of captures.entries()) {
            const scorer = new FlowScorer(
              model,
              (b) => {
                // Straight from the flow records: what their text cells would give (see capturePassValue).
                const pass = capturePass.map((name, k): PassColumn => {
                  const get = captureGetters[k]!;
                  const text = stringCols.has(name);
                  return [name, (r: number) => capturePassValue(get(b.rows[r]!), text)];
                });
                emit(b.rows.length, b.p, b.reasons, pass, showSource ? file : null, b.table);
              },
              { allColumns: o.report !== undefined, source: file, maxDelayMs: file === '-' ? 1000 : 0 },
            );
            await extract({
              inputs: [file],
              threads,
              features: featureOptionsFor(features),
              onFlow: (row) => scorer.add(row),
              onProgress: (p) => {
                if (p.totalBytes) {
                  bar.update(Math.round(p.bytesRead / 1e6), Math.max(1, Math.round(p.totalBytes / 1e6)), {
                    packets: formatCount(p.packets),
                    rate: `${n + 1}/${captures.length} captures`,
                  });
                }
              },
            });
            scorer.flush();
          }
        } finally {
          bar.stop();
        }
      } catch (e) {
        sink.abort();
        asUserError(e);
      }
      await sink.close();
      if (o.quiet !== true) {
        info(
          `classified ${total} flows: ${flagged} malicious at threshold ${thr.toFixed(4)}${minScore !== undefined ? `, ${written} with p_malicious ≥ ${minScore} written` : ''}`,
        );
        if (riskiest.length > 0) {
          info(`riskiest ${riskiest.length} flows:`);
          for (const { row: r } of riskiest) {
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
        const sources = items.map((it) => ('table' in it ? it.table.source : it.capture));
        await writeReportFile(
          {
            title: `flowsieve classify: ${sources.join(', ').slice(0, 120)}`,
            sources: sources.slice(0, 50),
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
