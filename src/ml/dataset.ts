/**
 * From flow tables to a feature matrix: which columns are features, which are identity (never features), the
 * dialect, labels, groups (capture file) and times for honest splits.
 *
 * Leakage policy (documented in models/README.md): identity columns are excluded from the features by name —
 * row/flow ids, IP and MAC addresses, the source port (ephemeral, identifies a connection), timestamps
 * (first/last seen, CIC "Timestamp"), the source file, text expiry reasons and labels/categories (CIC-2017
 * improved "Attempted Category" is a label in disguise). The destination port and protocol ARE features (the
 * service is a legitimate signal; known to inflate CIC scores, so documented). Text columns (TLS version strings,
 * JA3/JA4 hashes, SNI) are skipped: hashing them would let a model memorise one lab's fingerprints. Columns that
 * are constant or empty in the training data are dropped so a model never demands a column it cannot use.
 */
import { type FeatureSet, inFeatureSet } from './features.ts';
import { BENIGN, binaryLabel, type FlowFacts, type Labeler } from './labels.ts';
import { cellToNumber, InputError, isNumericColumn, type RawTable } from './table.ts';

export type Dialect = 'flowsieve' | 'cic2017' | 'cicflowmeter' | 'cse-cic-ids2018' | 'unknown';

/** Lower-case alphanumerics only: "Src IP" / "src_ip" / " Source IP" compare equal after this. */
export function columnKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

const IDENTITY_KEYS: ReadonlySet<string> = new Set([
  'id',
  'flowid',
  'srcip',
  'sourceip',
  'dstip',
  'destinationip',
  'srcport',
  'sourceport',
  'srcmac',
  'dstmac',
  'timestamp',
  'firstseenus',
  'lastseenus',
  'firstseen',
  'lastseen',
  'starttime',
  'endtime',
  'label',
  'attemptedcategory',
  'sourcefile',
  'endreason',
  'vlan',
  'vlanid',
  'pmalicious',
  'verdict',
  'reasons',
]);

/** True for columns that identify a flow rather than describe its behaviour. */
export function isIdentityColumn(name: string): boolean {
  const k = columnKey(name);
  return (
    IDENTITY_KEYS.has(k) || k.endsWith('ip') || k.endsWith('mac') || k.includes('timestamp') || k.endsWith('label')
  );
}

/** Guess the dialect from its column names (cic-columns.md lists the variants). */
export function detectDialect(names: readonly string[]): Dialect {
  const keys = new Set(names.map(columnKey));
  if (keys.has('firstseenus') || (keys.has('srcip') && names.some((n) => n === 'src_ip'))) return 'flowsieve';
  if (keys.has('totalbackwardpackets') || keys.has('initwinbytesforward')) return 'cic2017';
  if (keys.has('totfwdpkts') || keys.has('flowbytss')) return 'cse-cic-ids2018';
  if (keys.has('totalfwdpacket') || keys.has('fwdinitwinbytes')) return 'cicflowmeter';
  return 'unknown';
}

function findColumn(t: RawTable, ...keys: string[]): number {
  for (const k of keys) {
    const i = t.names.findIndex((n) => columnKey(n) === k);
    if (i >= 0) return i;
  }
  return -1;
}

/** Parse a time cell: µs integer (flowsieve), or a date string (CIC "2017-07-07 12:59:21.088203", "7/7/2017 8:59"). */
export function timeCellToUs(cell: string | null, isMicros: boolean): number {
  if (cell === null) return Number.NaN;
  if (isMicros) return cellToNumber(cell);
  const iso = /^\d{4}-\d{2}-\d{2} /.test(cell) ? `${cell.replace(' ', 'T')}Z` : cell;
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return Number.NaN;
  // Date.parse keeps milliseconds only; add the sub-millisecond digits CIC prints (".088203").
  const frac = /\.(\d+)/.exec(cell);
  const subMs = frac ? Number(frac[1]!.padEnd(6, '0').slice(0, 6)) % 1000 : 0;
  return ms * 1000 + subMs;
}

/** Per-row identity facts, for labelling rules and classify output. */
export function flowFacts(t: RawTable, file: string): (r: number) => FlowFacts {
  const src = findColumn(t, 'srcip', 'sourceip');
  const dst = findColumn(t, 'dstip', 'destinationip');
  const sp = findColumn(t, 'srcport', 'sourceport');
  const dp = findColumn(t, 'dstport', 'destinationport');
  const tc = findColumn(t, 'firstseenus', 'timestamp');
  const micros = tc >= 0 && columnKey(t.names[tc]!) === 'firstseenus';
  return (r) => ({
    file,
    srcIp: src >= 0 ? (t.cells[src]![r] ?? null) : null,
    dstIp: dst >= 0 ? (t.cells[dst]![r] ?? null) : null,
    srcPort: sp >= 0 ? cellToNumber(t.cells[sp]![r] ?? null) : Number.NaN,
    dstPort: dp >= 0 ? cellToNumber(t.cells[dp]![r] ?? null) : Number.NaN,
    timeUs: tc >= 0 ? timeCellToUs(t.cells[tc]![r] ?? null, micros) : Number.NaN,
  });
}

/** A labelled, column-major feature matrix. */
export interface Dataset {
  featureNames: string[];
  nRows: number;
  /** Column-major features, `x[f * nRows + r]`; NaN = missing (also for ±Infinity in the input). */
  x: Float32Array;
  /** Class index per row into `classes`. */
  y: Int32Array;
  /** Class names; binary mode is always [benign, malicious]. */
  classes: string[];
  /** Original label per row (before binary mapping). */
  rawLabels: string[];
  /** Group (input file) index per row. */
  groups: Int32Array;
  groupNames: string[];
  /** Flow start time per row in µs, NaN if unknown. */
  timeUs: Float64Array;
  dialect: Dialect;
  files: { path: string; sha256: string; rows: number }[];
}

export interface BuildOptions {
  multiclass: boolean;
  labeler: Labeler | null;
  /** Use exactly these features (e.g. a model's); otherwise chosen from the first table. */
  featureNames?: readonly string[];
  /** Drop rows without a label instead of failing. */
  dropUnlabelled?: boolean;
  /** Which candidate columns may be features (features.ts); default `all`. Ignored with `featureNames`. */
  featureSet?: FeatureSet;
  /** Columns never to use as features beyond identity columns (e.g. the schema's text columns). */
  excludeFeature?: (name: string) => boolean;
}

/** Label of row r: rules first, then the Label column; null if neither says. */
function labelGetter(t: RawTable, labeler: Labeler | null): (r: number) => string | null {
  const lc = findColumn(t, 'label');
  const facts = labeler && labeler.size > 0 ? flowFacts(t, t.source) : null;
  return (r) => {
    if (labeler && facts) {
      const l = labeler.labelFor(facts(r));
      if (l !== null) return l;
    }
    if (lc >= 0) {
      const v = t.cells[lc]![r];
      if (v !== null && v !== undefined && v.trim() !== '') return v.trim();
    }
    return null;
  };
}

/** Candidate feature columns of a table: numeric, non-identity, not constant. */
export function candidateFeatures(t: RawTable): string[] {
  const out: string[] = [];
  t.names.forEach((name, c) => {
    if (isIdentityColumn(name)) return;
    const col = t.cells[c]!;
    if (!isNumericColumn(col)) return;
    let first = Number.NaN;
    let varies = false;
    for (const cell of col) {
      const v = cellToNumber(cell);
      if (Number.isNaN(v)) continue;
      if (Number.isNaN(first)) first = v;
      else if (v !== first) {
        varies = true;
        break;
      }
    }
    if (varies) out.push(name);
  });
  return out;
}

/** Build a labelled dataset; rows without a label are an input error naming the file. */
export function buildDataset(tables: RawTable[], opts: BuildOptions): Dataset {
  if (tables.length === 0) throw new InputError('no_input', 'no input tables');
  const dialect = detectDialect(tables[0]!.names);
  let featureNames: string[];
  if (opts.featureNames) featureNames = [...opts.featureNames];
  else {
    // Union of candidate columns across tables, in first-seen order; a column constant in one file may vary in another.
    const seen = new Set<string>();
    featureNames = [];
    for (const t of tables) {
      for (const n of candidateFeatures(t)) {
        if (seen.has(n) || !inFeatureSet(n, opts.featureSet ?? 'all') || opts.excludeFeature?.(n)) continue;
        seen.add(n);
        featureNames.push(n);
      }
    }
  }
  for (const t of tables) {
    const have = new Set(t.names);
    const missing = featureNames.filter((n) => !have.has(n));
    if (missing.length > 0) {
      throw new InputError(
        'features_missing',
        `${t.source}: missing feature column(s) ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''}`,
      );
    }
  }
  // Labels first, so unlabelled rows can be dropped before the matrix is sized.
  const keep: Int32Array[] = [];
  const labelsPer: string[][] = [];
  for (const t of tables) {
    const label = labelGetter(t, opts.labeler);
    const rows: number[] = [];
    const labels: string[] = [];
    let unlabelled = 0;
    for (let r = 0; r < t.nRows; r++) {
      const l = label(r);
      if (l === null) {
        unlabelled++;
        continue;
      }
      rows.push(r);
      labels.push(l);
    }
    if (unlabelled > 0 && !opts.dropUnlabelled) {
      throw new InputError(
        'labels_missing',
        `${t.source}: ${unlabelled} of ${t.nRows} rows have no label (no Label column and no --label/--labels rule matched; --drop-unlabelled skips them)`,
      );
    }
    keep.push(Int32Array.from(rows));
    labelsPer.push(labels);
  }
  const nRows = keep.reduce((s, k) => s + k.length, 0);
  if (nRows === 0) throw new InputError('no_labelled_rows', 'no labelled flows in the input');
  const nF = featureNames.length;
  const x = new Float32Array(nF * nRows);
  const rawLabels: string[] = new Array(nRows);
  const groups = new Int32Array(nRows);
  const timeUs = new Float64Array(nRows);
  let base = 0;
  tables.forEach((t, gi) => {
    const rows = keep[gi]!;
    featureNames.forEach((name, f) => {
      const col = t.cells[t.names.indexOf(name)]!;
      const off = f * nRows + base;
      for (let i = 0; i < rows.length; i++) x[off + i] = cellToNumber(col[rows[i]!] ?? null);
    });
    const tc = findColumn(t, 'firstseenus', 'timestamp');
    const micros = tc >= 0 && columnKey(t.names[tc]!) === 'firstseenus';
    for (let i = 0; i < rows.length; i++) {
      rawLabels[base + i] = labelsPer[gi]![i]!;
      groups[base + i] = gi;
      timeUs[base + i] = tc >= 0 ? timeCellToUs(t.cells[tc]![rows[i]!] ?? null, micros) : Number.NaN;
    }
    base += rows.length;
  });
  let classes: string[];
  const y = new Int32Array(nRows);
  if (opts.multiclass) {
    // Benign first so p_malicious = 1 − p(class 0) holds for multiclass models too.
    const names = [...new Set(rawLabels)].sort((a, b) => a.localeCompare(b));
    const benign = names.filter((n) => binaryLabel(n) === BENIGN);
    if (benign.length === 0) {
      throw new InputError(
        'labels_no_benign',
        'multiclass training needs a benign class (BENIGN/benign/normal) to score p_malicious against',
      );
    }
    classes = [...benign.slice(0, 1), ...names.filter((n) => n !== benign[0])];
    const idx = new Map(classes.map((c, i) => [c, i]));
    for (let r = 0; r < nRows; r++) y[r] = idx.get(rawLabels[r]!)!;
  } else {
    classes = [BENIGN, 'malicious'];
    for (let r = 0; r < nRows; r++) y[r] = binaryLabel(rawLabels[r]!) === BENIGN ? 0 : 1;
  }
  return {
    featureNames,
    nRows,
    x,
    y,
    classes,
    rawLabels,
    groups,
    groupNames: tables.map((t) => t.source),
    timeUs,
    dialect,
    files: tables.map((t, i) => ({ path: t.source, sha256: t.sha256 ?? '', rows: keep[i]!.length })),
  };
}

/** Feature matrix of unlabelled tables for a model's feature list (column-major, NaN missing). */
export function featureMatrix(t: RawTable, featureNames: readonly string[]): Float32Array {
  const have = new Map(t.names.map((n, i) => [n, i]));
  const missing = featureNames.filter((n) => !have.has(n));
  if (missing.length > 0) {
    throw new InputError(
      'features_missing',
      `${t.source}: the model needs column(s) missing from the input: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''}`,
    );
  }
  const n = t.nRows;
  const x = new Float32Array(featureNames.length * n);
  featureNames.forEach((name, f) => {
    const col = t.cells[have.get(name)!]!;
    for (let r = 0; r < n; r++) x[f * n + r] = cellToNumber(col[r] ?? null);
  });
  return x;
}

/** Rows `rows` of a dataset as a new column-major matrix. */
export function takeRows(x: Float32Array, nRows: number, nF: number, rows: Uint32Array | Int32Array): Float32Array {
  const m = rows.length;
  const out = new Float32Array(nF * m);
  for (let f = 0; f < nF; f++) {
    const src = f * nRows;
    const dst = f * m;
    for (let i = 0; i < m; i++) out[dst + i] = x[src + rows[i]!]!;
  }
  return out;
}
