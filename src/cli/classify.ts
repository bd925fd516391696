/**
 * `flowsieve classify` — score every flow: `p_malicious`, `verdict` at the model's threshold, and the top three
 * reasons (Saabas path contributions: how much each feature moved the score along the flow's decision paths).
 * A ranked "riskiest flows" list goes to stderr; `--min-score` keeps only risky flows (pre-filtering traffic
 * before expensive inspection); `--fail-on-score` exits 1 when any flow reaches it.
 */
import type { Command } from 'commander';
import { extract } from '../api.ts';
import type { ColumnSpec, FlowRow } from '../features/meter.ts';
import { CompiledForest } from '../ml/compile.ts';
import { columnKey, detectDialect, featureMatrix } from '../ml/dataset.ts';
import { topReasons } from '../ml/explain.ts';
import type { RawTable } from '../ml/table.ts';
import { columnAccessor } from '../output/columns.ts';
import { openSink } from '../output/index.ts';
import { runParallelExtract } from '../parallel/extract.ts';
import { STAGED_NUMBERS, type StagedIdentity } from '../parallel/messages.ts';
import { IDENTITY_COLUMNS } from '../pipeline.ts';
import { FlowScorer, scoreStaged } from '../score.ts';
import { cellText, featureOptionsFor, featuresWithoutSource, flowColumns, mapFeatures } from '../tables.ts';
import { resolveInputs } from '../train.ts';
import {
  COMPRESSION_HELP,
  captureWarnings,
  EXIT_FINDINGS,
  formatCount,
  info,
  parseCompression,
  parsePositiveInt,
  progressBar,
  UserError,
  warn,
} from './common.ts';
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
  compression?: string;
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

/** Entries of ScoreRounding's cache (a power of two). */
const ROUNDING_ENTRIES = 4096;

/**
 * `Number(p.toFixed(6))`, the score as written, remembered per score: toFixed's exact decimal rounding costs
 * ~0.45 µs, and flows of one shape share their score (lab500: 132k flows, 37 distinct scores; mixed500: 273k, 4.9k).
 * Direct-mapped on the score's bits; a miss computes and replaces.
 */
class ScoreRounding {
  private readonly key = new Float64Array(ROUNDING_ENTRIES).fill(Number.NaN);
  private readonly value = new Float64Array(ROUNDING_ENTRIES);
  private readonly bits = new Float64Array(1);
  private readonly words = new Int32Array(this.bits.buffer);

  round(p: number): number {
    this.bits[0] = p;
    const h = Math.imul(this.words[0]! ^ this.words[1]!, 0x9e3779b1);
    const e = (h >>> 20) & (ROUNDING_ENTRIES - 1);
    // NaN keys never match (scores are never NaN): an empty entry is a miss.
    if (this.key[e] === p) return this.value[e]!;
    const v = Number(p.toFixed(6));
    this.key[e] = p;
    this.value[e] = v;
    return v;
  }
}

/** The pass-through columns of flow records (PASS_THROUGH ∩ the flow columns, without source_file). */
const IDENTITY_ROW = [
  'flow_id',
  'src_ip',
  'src_port',
  'dst_ip',
  'dst_port',
  'protocol',
  'first_seen_us',
  'last_seen_us',
];

/** A staged batch's row `r` (StagedIdentity) as its flow record's identityRow. */
function stagedIdentityRow(identity: StagedIdentity, r: number, source: string | null): OutRow {
  const w = STAGED_NUMBERS.length;
  const v = identity.numbers;
  const at = r * w;
  return identityRow(
    {
      flow_id: v[at + STAGED_AT.flow_id],
      src_ip: identity.addresses[2 * r],
      src_port: v[at + STAGED_AT.src_port],
      dst_ip: identity.addresses[2 * r + 1],
      dst_port: v[at + STAGED_AT.dst_port],
      protocol: v[at + STAGED_AT.protocol],
      first_seen_us: v[at + STAGED_AT.first_seen_us],
      last_seen_us: v[at + STAGED_AT.last_seen_us],
    },
    source,
  );
}

/** Position of each identity number in a staged row (STAGED_NUMBERS). */
const STAGED_AT = Object.fromEntries(STAGED_NUMBERS.map((k, i) => [k, i])) as Record<
  (typeof STAGED_NUMBERS)[number],
  number
>;

/** The report table of a staged batch: none (staging is used only without --report). */
const NO_TABLE: RawTable = { names: [], cells: [], nRows: 0, source: '', droppedDuplicates: [], sha256: '' };

/** The placeholder `reasons` of an output row not yet scored. */
const NO_REASONS: string[] = [];

/**
 * A flow record's output row when its pass-through columns are IDENTITY_ROW, numbers as numbers and addresses as
 * text (capturePassValue with text = false, true): one object literal, keys by name. The generic rows of
 * passRows read and store every column through a key in a variable (megamorphic loads and stores): lab500
 * classify, node --cpu-prof, classify.ts and the column accessors 270 → 130 ms.
 */
function identityRow(rec: FlowRow, source: string | null): OutRow {
  const flowId = capturePassValue(rec.flow_id, false);
  const srcIp = capturePassValue(rec.src_ip, true);
  const srcPort = capturePassValue(rec.src_port, false);
  const dstIp = capturePassValue(rec.dst_ip, true);
  const dstPort = capturePassValue(rec.dst_port, false);
  const protocol = capturePassValue(rec.protocol, false);
  const first = capturePassValue(rec.first_seen_us, false);
  const last = capturePassValue(rec.last_seen_us, false);
  const row: OutRow = {
    flow_id: flowId,
    src_ip: srcIp,
    src_port: srcPort,
    dst_ip: dstIp,
    dst_port: dstPort,
    protocol,
    first_seen_us: first,
    last_seen_us: last,
    p_malicious: 0,
    verdict: '',
    reasons: NO_REASONS,
  };
  // Several inputs: source_file first, as the flow columns list it.
  return source === null ? row : { source_file: source, ...row };
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
    .option('--compression <codec>', COMPRESSION_HELP)
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
      const compression = parseCompression(o.compression);
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
      // The usual case: the identity columns of IDENTITY_ROW, as numbers and text (no flow table among the inputs
      // made one of them text).
      const identityOut =
        capturePass.join() === IDENTITY_ROW.join() &&
        capturePass.every((name) => stringCols.has(name) === (name === 'src_ip' || name === 'dst_ip'));
      const sink = openSink({ path: o.output ?? '-', columns, compression });

      const scoreRounding = new ScoreRounding();
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
       * The output rows of a batch's pass-through columns (source_file first when given), as a function of the
       * row index. Every row starts as a copy of one object with all output keys in output order, so the values
       * are stores to existing keys, not a new key each (a shape transition per key).
       */
      const passRows = (pass: PassColumn[], source: string | null): ((r: number) => OutRow) => {
        const template: OutRow = {};
        if (source !== null) template.source_file = source;
        for (const [name] of pass) template[name] = null;
        template.p_malicious = 0;
        template.verdict = '';
        template.reasons = NO_REASONS;
        const names = pass.map(([name]) => name);
        const values = pass.map(([, value]) => value);
        return (r) => {
          const row: OutRow = { ...template };
          for (let c = 0; c < names.length; c++) row[names[c]!] = values[c]!(r);
          return row;
        };
      };

      /**
       * Score rows 0..n-1 of a batch (p given), writing those at or above --min-score (`rowOf` gives a row's
       * output object with its pass-through columns); `report` is the batch as a table for --report.
       */
      const emit = (
        n: number,
        p: Float64Array,
        reasonsOf: (r: number) => string[],
        rowOf: (r: number) => OutRow,
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
          const row = rowOf(r);
          row.p_malicious = scoreRounding.round(score);
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
        // Captures are scored by FlowScorer's own compiled forest.
        const cf = tables.length > 0 ? new CompiledForest(model.forest) : null;
        const contrib = new Float64Array(features.length);
        for (const t of tables) {
          const x = featureMatrix(t, features);
          const { p, leaves } = cf!.pMaliciousAndLeaves(x, t.nRows);
          const src = showSource && !t.names.includes('source_file') ? t.source : null;
          const reasonsOf = (r: number) => topReasons(model.forest, features, x, t.nRows, r, contrib, 3, leaves, true);
          emit(t.nRows, p, reasonsOf, passRows(tablePass(t), src), t);
        }
        const bar = progressBar('classify', o.quiet === true);
        const onWarning = captureWarnings();
        let stagedForest: CompiledForest | undefined;
        const stagedScratch = new Float64Array(features.length);
        try {
          for (const [n, file] of captures.entries()) {
            const onProgress = (p: { bytesRead: number; totalBytes: number | undefined; packets: number }) => {
              if (p.totalBytes) {
                bar.update(Math.round(p.bytesRead / 1e6), Math.max(1, Math.round(p.totalBytes / 1e6)), {
                  packets: formatCount(p.packets),
                  rate: `${n + 1}/${captures.length} captures`,
                });
              }
            };
            const source = showSource ? file : null;
            if (threads >= 2 && file !== '-' && identityOut && o.report === undefined) {
              // A worker extracts the capture and stages each batch's features; this thread runs the forest and
              // writes (rows do not cross threads: only matrices and identity columns). Same rows, same order as
              // one thread.
              stagedForest ??= new CompiledForest(model.forest);
              const forest = stagedForest;
              await runParallelExtract({
                inputs: [file],
                threads,
                features: featureOptionsFor(features),
                onFlow: () => {},
                onWarning,
                onProgress,
                staged: {
                  model: model.file,
                  withSourceFile: false,
                  onBatch: (count, x, identity) => {
                    const { p, reasons } = scoreStaged(model, forest, x, count, stagedScratch, true);
                    emit(count, p, reasons, (r) => stagedIdentityRow(identity, r, source), NO_TABLE);
                  },
                },
              });
              continue;
            }
            const scorer = new FlowScorer(
              model,
              (b) => {
                const rows = b.rows;
                const rowOf = identityOut
                  ? (r: number) => identityRow(rows[r]!, source)
                  : passRows(
                      // Straight from the flow records: what their text cells would give (see capturePassValue).
                      capturePass.map((name, k): PassColumn => {
                        const get = captureGetters[k]!;
                        const text = stringCols.has(name);
                        return [name, (r: number) => capturePassValue(get(rows[r]!), text)];
                      }),
                      source,
                    );
                emit(rows.length, b.p, b.reasons, rowOf, b.table);
              },
              // The output keeps the reason lists of a row group: rows with the same reasons share one (frozen).
              {
                allColumns: o.report !== undefined,
                sharedReasons: true,
                source: file,
                maxDelayMs: file === '-' ? 1000 : 0,
              },
            );
            await extract({
              inputs: [file],
              threads,
              features: featureOptionsFor(features),
              onFlow: (row) => scorer.add(row),
              onWarning,
              onProgress,
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
