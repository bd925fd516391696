/**
 * Feature sets and derived features.
 *
 * `all` (the historical default): every numeric, non-identity column that varies. `behaviour`: only what describes
 * how the endpoints talked — flow statistics, TCP flags, sizes and timing, SPLT-derived numbers, TLS handshake and
 * certificate numbers, per-flow DNS/HTTP/ICMP/SSH numbers — and none of what describes the capture it came from.
 * Excluded from `behaviour`, with the reason (models/README.md repeats this list):
 *  - `bytes_*` payload byte-value distribution, entropy, mean/stddev byte: a statistic of the payload content, so it
 *    learns which test generator or lab wrote the bytes (the old default model's top reason on the demo capture was
 *    `bytes_bidirectional_stddev_payload_byte`);
 *  - `dns_context_*`: counters of what else the same client did in the same capture, so they depend on how much
 *    else the capture held (a 3-flow test capture and a day of traffic differ for reasons unrelated to the flow);
 *  - `markov_*`: packet-length/time transition matrices, 200 sparse columns that mostly re-encode SPLT and overfit;
 *  - `dst_port`: the service number. It is the easiest thing to over-learn (a malicious capture's port becomes
 *    "malicious"); the behaviour on the port is kept;
 *  - `ip_version`, absolute certificate dates (`tls_cert_not_before_us`, `tls_cert_not_after_us`): the era and
 *    network of the capture, not the flow (validity length, expiry and self-signedness are kept);
 *  - text columns the schema types as strings (`tls_cipher` "c02f", `quic_version`), which parse as numbers only
 *    for some values ("0035" → 35 while "c02f" → missing); their numeric forms are derived below.
 *
 * Derived columns (added to flowsieve-dialect tables by `withDerivedColumns`, computed from text/list columns the
 * matrix cannot use directly); empty when the flow lacks the protocol:
 *  - `tls_sni_present` 1/0 for TLS flows (a client hello without SNI is unusual for browsers and common for C2);
 *  - `tls_cipher_id`: the negotiated cipher suite number (RFC 8446 §B.4 / IANA registry; hex text → integer);
 *  - `dns_query_length`, `dns_query_labels`, `dns_query_max_label_length`, `dns_query_entropy_bits`,
 *    `dns_query_digit_fraction`: shape of the query name (tunnels and DGAs use long, high-entropy labels;
 *    RFC 1035 §2.3.4 caps labels at 63 octets, names at 255);
 *  - `splt_len_1..4`: the first four payload lengths, negative when sent by the responder (dst2src);
 *    `splt_direction_changes` and `splt_mean_iat_us` over the sequence (the request/response rhythm).
 */
import type { RawTable } from './table.ts';

export type FeatureSet = 'all' | 'behaviour';

export const FEATURE_SETS: readonly FeatureSet[] = ['all', 'behaviour'];

/** Columns excluded from the behaviour set by exact name. */
const BEHAVIOUR_EXCLUDED_NAMES: ReadonlySet<string> = new Set([
  'dst_port',
  'ip_version',
  'tls_cert_not_before_us',
  'tls_cert_not_after_us',
  'tls_cipher',
  'quic_version',
]);
/** Column groups excluded from the behaviour set by prefix. */
const BEHAVIOUR_EXCLUDED_PREFIXES: readonly string[] = ['bytes_', 'dns_context_', 'markov_'];

/** Whether column `name` may be a feature of `set` (identity columns are excluded separately, dataset.ts). */
export function inFeatureSet(name: string, set: FeatureSet): boolean {
  if (set === 'all') return true;
  if (BEHAVIOUR_EXCLUDED_NAMES.has(name)) return false;
  return !BEHAVIOUR_EXCLUDED_PREFIXES.some((p) => name.startsWith(p));
}

/** Names of the derived columns, in output order. */
export const DERIVED_COLUMNS: readonly string[] = [
  'tls_sni_present',
  'tls_cipher_id',
  'dns_query_length',
  'dns_query_labels',
  'dns_query_max_label_length',
  'dns_query_entropy_bits',
  'dns_query_digit_fraction',
  'splt_len_1',
  'splt_len_2',
  'splt_len_3',
  'splt_len_4',
  'splt_direction_changes',
  'splt_mean_iat_us',
];

const D_SNI_PRESENT = DERIVED_COLUMNS.indexOf('tls_sni_present');
const D_CIPHER_ID = DERIVED_COLUMNS.indexOf('tls_cipher_id');
const D_QUERY_LENGTH = DERIVED_COLUMNS.indexOf('dns_query_length');
const D_QUERY_LABELS = DERIVED_COLUMNS.indexOf('dns_query_labels');
const D_QUERY_MAX_LABEL = DERIVED_COLUMNS.indexOf('dns_query_max_label_length');
const D_QUERY_ENTROPY = DERIVED_COLUMNS.indexOf('dns_query_entropy_bits');
const D_QUERY_DIGITS = DERIVED_COLUMNS.indexOf('dns_query_digit_fraction');
const D_SPLT_LEN = DERIVED_COLUMNS.indexOf('splt_len_1');
const D_SPLT_CHANGES = DERIVED_COLUMNS.indexOf('splt_direction_changes');
const D_SPLT_MEAN_IAT = DERIVED_COLUMNS.indexOf('splt_mean_iat_us');

/** The columns the derived columns are computed from (a scorer that keeps only some columns keeps these). */
export const DERIVED_SOURCE_COLUMNS: readonly string[] = [
  'tls_sni',
  'tls_client_hellos',
  'tls_version',
  'tls_cipher',
  'dns_query',
  'splt_lengths',
  'splt_directions',
  'splt_iats_us',
];

/** A list cell as numbers: JSON text "[1,2]" (JSON Lines, capture path) or `;`-joined "1;2" (our CSV writer). */
export function listCell(cell: string | null | undefined): number[] {
  if (cell === null || cell === undefined) return [];
  const s = cell.trim();
  if (s === '' || s === '[]') return [];
  const body = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  const out: number[] = [];
  for (const part of body.split(/[;,]/)) {
    const v = Number(part.trim());
    out.push(part.trim() === '' ? Number.NaN : v);
  }
  return out;
}

/** Shannon entropy of the characters of `s`, in bits per character. */
export function charEntropyBits(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

function num(v: number): string | null {
  return Number.isFinite(v) ? String(Number.isInteger(v) ? v : Number(v.toPrecision(6))) : null;
}

/** What a `num` cell parses back to (cellToNumber(num(v))), without the text: NaN for null. */
function numValue(v: number): number {
  return Number.isFinite(v) ? (Number.isInteger(v) ? v : Number(v.toPrecision(6))) + 0 : Number.NaN;
}

/** The cell text of a flow-record value, as flow tables write it (cellText in src/tables.ts). */
function textOf(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? '1' : '0';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * listCell of a record's list value: an array of finite numbers is itself (what its JSON text parses back to, but
 * for −0, which JSON writes as 0: the callers' sums, comparisons and numValue treat −0 as 0), else the text. Not
 * copied: classify derives these for every flow.
 */
function listOf(v: unknown): readonly number[] {
  if (Array.isArray(v)) {
    let numbers = true;
    for (let i = 0; i < v.length && numbers; i++) {
      const x: unknown = v[i];
      numbers = typeof x === 'number' && Number.isFinite(x);
    }
    if (numbers) return v as number[];
  }
  return listCell(textOf(v));
}

/** The derived columns' source values of one flow record, in DERIVED_SOURCE_COLUMNS order. */
export type DerivedSources = readonly unknown[];

/**
 * The derived columns of one flow, in DERIVED_COLUMNS order, as numbers (NaN for an empty cell): exactly what the
 * cells withDerivedColumns computes from that flow's table row parse to (cellToNumber), without formatting the
 * record's values as text and parsing them back — the scorer of `classify` (src/score.ts) uses this per flow.
 * `src` holds the record's values of DERIVED_SOURCE_COLUMNS (test/ml/derived.test.ts checks both paths agree).
 */
export function derivedValues(src: DerivedSources, out: Float64Array): void {
  out.fill(Number.NaN);
  const [sni, hellos, tlsVersion, cipher, query, lengths, dirs, iats] = src;
  const present = (v: unknown): boolean => {
    const t = textOf(v);
    return t !== null && t !== '' && t !== '0';
  };
  if (present(hellos) || present(tlsVersion)) out[D_SNI_PRESENT] = present(sni) ? 1 : 0;
  const c = textOf(cipher);
  if (c && /^(0x)?[0-9a-f]{1,4}$/i.test(c)) out[D_CIPHER_ID] = Number.parseInt(c.replace(/^0x/i, ''), 16);
  const q = textOf(query);
  if (q) {
    const name = q.endsWith('.') ? q.slice(0, -1) : q;
    let digits = 0;
    let labels = 1;
    let longest = 0;
    let run = 0;
    for (let i = 0; i < name.length; i++) {
      const ch = name.charCodeAt(i);
      if (ch >= 48 && ch <= 57) digits++;
      if (ch === 46) {
        labels++;
        run = 0;
      } else if (++run > longest) longest = run;
    }
    out[D_QUERY_LENGTH] = name.length;
    out[D_QUERY_LABELS] = labels;
    out[D_QUERY_MAX_LABEL] = longest;
    out[D_QUERY_ENTROPY] = numValue(charEntropyBits(name));
    out[D_QUERY_DIGITS] = numValue(name.length > 0 ? digits / name.length : 0);
  }
  const len = listOf(lengths);
  if (len.length > 0) {
    const dir = listOf(dirs);
    for (let k = 0; k < 4 && k < len.length; k++) out[D_SPLT_LEN + k] = numValue(dir[k] === 1 ? -len[k]! : len[k]!);
    let changes = 0;
    for (let k = 1; k < dir.length; k++) if (dir[k] !== dir[k - 1]) changes++;
    out[D_SPLT_CHANGES] = changes;
    // The gaps after the first entry (withDerivedColumns), summed in the same order.
    const iat = listOf(iats);
    if (iat.length > 1) {
      let sum = 0;
      for (let k = 1; k < iat.length; k++) sum += iat[k]!;
      out[D_SPLT_MEAN_IAT] = numValue(sum / (iat.length - 1));
    }
  }
}

/**
 * Add the derived columns to a flowsieve-dialect table (one that has the source columns); other tables, and
 * tables that already carry the derived columns, are returned unchanged.
 */
export function withDerivedColumns(t: RawTable): RawTable {
  const col = (name: string): (string | null)[] | null => {
    const i = t.names.indexOf(name);
    return i >= 0 ? t.cells[i]! : null;
  };
  if (t.names.includes(DERIVED_COLUMNS[0]!)) return t;
  const sni = col('tls_sni');
  const hellos = col('tls_client_hellos');
  const tlsVersion = col('tls_version');
  const cipher = col('tls_cipher');
  const query = col('dns_query');
  const lengths = col('splt_lengths');
  const dirs = col('splt_directions');
  const iats = col('splt_iats_us');
  if (!sni && !query && !lengths && !cipher) return t;
  const n = t.nRows;
  const out: (string | null)[][] = DERIVED_COLUMNS.map(() => new Array<string | null>(n).fill(null));
  const at = (name: string): (string | null)[] => out[DERIVED_COLUMNS.indexOf(name)]!;
  const present = (c: (string | null)[] | null, r: number): boolean => {
    const v = c?.[r];
    return v !== null && v !== undefined && v !== '' && v !== '0';
  };
  for (let r = 0; r < n; r++) {
    // A flow is TLS when a client hello was seen or a version was negotiated.
    if (present(hellos, r) || present(tlsVersion, r)) at('tls_sni_present')[r] = present(sni, r) ? '1' : '0';
    const c = cipher?.[r];
    if (c && /^(0x)?[0-9a-f]{1,4}$/i.test(c))
      at('tls_cipher_id')[r] = String(Number.parseInt(c.replace(/^0x/i, ''), 16));
    const q = query?.[r];
    if (q) {
      const name = q.endsWith('.') ? q.slice(0, -1) : q;
      const labels = name.split('.');
      let digits = 0;
      for (const ch of name) if (ch >= '0' && ch <= '9') digits++;
      at('dns_query_length')[r] = String(name.length);
      at('dns_query_labels')[r] = String(labels.length);
      at('dns_query_max_label_length')[r] = String(Math.max(...labels.map((l) => l.length)));
      at('dns_query_entropy_bits')[r] = num(charEntropyBits(name));
      at('dns_query_digit_fraction')[r] = num(name.length > 0 ? digits / name.length : 0);
    }
    const len = listCell(lengths?.[r]);
    if (len.length > 0) {
      const dir = listCell(dirs?.[r]);
      for (let k = 0; k < 4 && k < len.length; k++) {
        at(`splt_len_${k + 1}`)[r] = num(dir[k] === 1 ? -len[k]! : len[k]!);
      }
      let changes = 0;
      for (let k = 1; k < dir.length; k++) if (dir[k] !== dir[k - 1]) changes++;
      at('splt_direction_changes')[r] = String(changes);
      // The first entry's IAT is the gap from the flow start (0); the rhythm is in the others.
      const gaps = listCell(iats?.[r]).slice(1);
      if (gaps.length > 0) at('splt_mean_iat_us')[r] = num(gaps.reduce((a, b) => a + b, 0) / gaps.length);
    }
  }
  return { ...t, names: [...t.names, ...DERIVED_COLUMNS], cells: [...t.cells, ...out] };
}
