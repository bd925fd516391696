/**
 * Benign vs malicious profiles: which features to show and their per-class distributions, drawn from the
 * aggregator's per-class samples. Distributions are normalised per class (share of that class's flows), since
 * captures are usually heavily imbalanced and raw counts would hide the small class.
 */
import type { FlowSummary } from './aggregate.ts';
import {
  certValidityDays,
  cipherName,
  type FlowRow,
  fieldOf,
  flattenRow,
  flowApplication,
  flowBytes,
  flowDurationUs,
  flowPackets,
  tlsVersionName,
  toText,
} from './rows.ts';

export type ProfileClass = 'benign' | 'malicious' | 'all';

export interface HistogramBin {
  cls: ProfileClass;
  lo: number;
  hi: number;
  /** Share of the class's flows (that have the feature) in this bin. */
  share: number;
  count: number;
}

export interface ClassStats {
  cls: ProfileClass;
  /** Sampled flows of the class that carry the feature. */
  n: number;
  median: number;
  p90: number;
}

export interface NumericProfile {
  feature: string;
  title: string;
  unit: string;
  scale: 'linear' | 'symlog';
  bins: HistogramBin[];
  stats: ClassStats[];
  /** Why this feature was chosen: the model ranks it, or it is one of the standard traffic descriptors. */
  why: 'importance' | 'default';
}

export interface CategoricalProfile {
  feature: string;
  title: string;
  rows: { cls: ProfileClass; category: string; share: number; count: number }[];
  n: { cls: ProfileClass; n: number }[];
}

export interface Profiles {
  classes: ProfileClass[];
  numeric: NumericProfile[];
  categorical: CategoricalProfile[];
}

const MAX_NUMERIC = 9;
const MAX_FROM_IMPORTANCE = 4;
const HIST_BINS = 36;
const MAX_CATEGORIES = 8;

/** Columns that identify a flow or are outputs, not traffic features. */
const NOT_FEATURES =
  /^(flow_id|id|src_port|dst_port|sport|dport|protocol|vlan(_id)?|first_seen_us|last_seen_us|bidirectional_first_seen_ms|bidirectional_last_seen_ms|p_malicious|score|label|verdict|expiration_id|.*_ip|.*ip_version|.*_seen_.*|.*timestamp.*)$/i;

/** Standard descriptors, in display order; the first matching column of each is shown. */
const DEFAULT_FEATURES: readonly { title: string; patterns: readonly RegExp[] }[] = [
  {
    title: 'Mean packet size',
    patterns: [/^bidirectional_mean_ps$/, /^src2dst_mean_ps$/, /_mean_ps$/, /mean.*(pkt|packet).*(len|size)/i],
  },
  { title: 'Mean inter-arrival time', patterns: [/^bidirectional_mean_piat/, /_mean_piat/, /iat.*mean|mean.*iat/i] },
  { title: 'Duration', patterns: [/^duration_us$/, /^bidirectional_duration/, /duration/i] },
  { title: 'Bytes per flow', patterns: [/^bytes_total$/] },
  { title: 'Packets per flow', patterns: [/^packets_total$/] },
  { title: 'Largest packet', patterns: [/^bidirectional_max_ps$/, /_max_ps$/, /max.*(pkt|packet).*(len|size)/i] },
  {
    title: 'Inter-arrival time spread',
    patterns: [/^bidirectional_stddev_piat/, /_stddev_piat/, /std.*iat|iat.*std/i],
  },
  { title: 'Certificate validity', patterns: [/^cert_validity_days$/] },
  { title: 'Payload bytes sent', patterns: [/^fwd_payload_bytes$/, /^src2dst_payload_bytes$/] },
];

const CATEGORICAL: readonly { feature: string; title: string; value: (row: FlowRow) => string | undefined }[] = [
  { feature: 'tls_version', title: 'TLS version', value: (r) => tlsVersionName(fieldOf(r, 'tls_version')) },
  {
    feature: 'tls_cipher',
    title: 'TLS cipher suite (server choice)',
    value: (r) => cipherName(fieldOf(r, 'tls_cipher')),
  },
  { feature: 'application', title: 'Application', value: flowApplication },
  { feature: 'end_reason', title: 'Why the flow ended', value: (r) => toText(fieldOf(r, 'end_reason')) },
];

export function unitOf(feature: string): string {
  if (/_us$/.test(feature)) return 'µs';
  if (/_ms$/.test(feature)) return 'ms';
  if (/_s$|seconds/.test(feature)) return 's';
  if (/days$/.test(feature)) return 'days';
  if (/_ps$|bytes|_size|_len/.test(feature)) return 'bytes';
  if (/packets/.test(feature)) return 'packets';
  return '';
}

/** Sampled rows flattened once, plus derived columns every capture has a way to compute. */
function flattenSample(rows: readonly FlowRow[]): Map<string, number | string>[] {
  return rows.map((row) => {
    const m = flattenRow(row);
    const bytes = flowBytes(row);
    const packets = flowPackets(row);
    const duration = flowDurationUs(row);
    const validity = certValidityDays(row);
    if (!Number.isNaN(bytes)) m.set('bytes_total', bytes);
    if (!Number.isNaN(packets)) m.set('packets_total', packets);
    if (!m.has('duration_us') && !Number.isNaN(duration)) m.set('duration_us', duration);
    if (!Number.isNaN(validity)) m.set('cert_validity_days', validity);
    return m;
  });
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const i = Math.floor(pos);
  const f = pos - i;
  const a = sorted[i]!;
  return i + 1 < sorted.length ? a + (sorted[i + 1]! - a) * f : a;
}

/** Vega's symlog transform with constant 1: sign(x)·log1p(|x|), so bins are even on the drawn axis. */
function symlog(x: number): number {
  return Math.sign(x) * Math.log1p(Math.abs(x));
}
function symexp(t: number): number {
  return Math.sign(t) * Math.expm1(Math.abs(t));
}

function numericProfile(
  feature: string,
  title: string,
  why: NumericProfile['why'],
  classes: ProfileClass[],
  flat: Map<ProfileClass, Map<string, number | string>[]>,
): NumericProfile | undefined {
  const values = new Map<ProfileClass, Float64Array>();
  const pooled: number[] = [];
  for (const cls of classes) {
    const arr: number[] = [];
    for (const m of flat.get(cls) ?? []) {
      const v = m.get(feature);
      if (typeof v === 'number' && Number.isFinite(v)) arr.push(v);
    }
    const sorted = Float64Array.from(arr).sort();
    values.set(cls, sorted);
    for (const v of arr) pooled.push(v);
  }
  if (pooled.length < 2) return undefined;
  const all = Float64Array.from(pooled).sort();
  const min = all[0]!;
  const max = all[all.length - 1]!;
  if (min === max) return undefined;
  // Clip the extreme 0.5% on each side into the end bins, so one outlier does not squash the picture.
  let lo = quantile(all, 0.005);
  let hi = quantile(all, 0.995);
  if (!(hi > lo)) {
    lo = min;
    hi = max;
  }
  const integers = all.every((v) => Number.isInteger(v));
  let edges: number[];
  let scale: NumericProfile['scale'] = 'linear';
  if (integers && hi - lo <= HIST_BINS) {
    edges = [];
    for (let v = Math.floor(lo); v <= Math.ceil(hi) + 1; v++) edges.push(v - 0.5);
  } else {
    let smallestPositive = Number.POSITIVE_INFINITY;
    for (const v of all) {
      if (v > 0) {
        smallestPositive = v;
        break;
      }
    }
    // Heavy-tailed (sizes, durations, IATs span orders of magnitude): bin evenly on a symlog axis.
    if (lo >= 0 && hi / Math.max(smallestPositive, 1) >= 100) scale = 'symlog';
    const t0 = scale === 'symlog' ? symlog(lo) : lo;
    const t1 = scale === 'symlog' ? symlog(hi) : hi;
    edges = [];
    for (let i = 0; i <= HIST_BINS; i++) {
      const t = t0 + ((t1 - t0) * i) / HIST_BINS;
      edges.push(scale === 'symlog' ? symexp(t) : t);
    }
  }
  const nBins = edges.length - 1;
  const bins: HistogramBin[] = [];
  const stats: ClassStats[] = [];
  for (const cls of classes) {
    const sorted = values.get(cls)!;
    if (sorted.length === 0) continue;
    const counts = new Array<number>(nBins).fill(0);
    let b = 0;
    for (const v of sorted) {
      // sorted input: advance the bin pointer; clipped values land in the end bins
      while (b < nBins - 1 && v >= edges[b + 1]!) b++;
      counts[b]!++;
    }
    for (let i = 0; i < nBins; i++) {
      bins.push({ cls, lo: edges[i]!, hi: edges[i + 1]!, share: counts[i]! / sorted.length, count: counts[i]! });
    }
    stats.push({ cls, n: sorted.length, median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) });
  }
  return { feature, title, unit: unitOf(feature), scale, bins, stats, why };
}

function categoricalProfile(
  spec: (typeof CATEGORICAL)[number],
  classes: ProfileClass[],
  rows: Map<ProfileClass, readonly FlowRow[]>,
): CategoricalProfile | undefined {
  const counts = new Map<ProfileClass, Map<string, number>>();
  const n: { cls: ProfileClass; n: number }[] = [];
  for (const cls of classes) {
    const m = new Map<string, number>();
    let total = 0;
    for (const row of rows.get(cls) ?? []) {
      const v = spec.value(row);
      if (v === undefined) continue;
      m.set(v, (m.get(v) ?? 0) + 1);
      total++;
    }
    counts.set(cls, m);
    if (total > 0) n.push({ cls, n: total });
  }
  if (n.length === 0) return undefined;
  const best = new Map<string, number>();
  for (const { cls, n: total } of n) {
    for (const [k, c] of counts.get(cls)!) best.set(k, Math.max(best.get(k) ?? 0, c / total));
  }
  const top = [...best.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, MAX_CATEGORIES);
  const kept = new Set(top.map(([k]) => k));
  const out: CategoricalProfile['rows'] = [];
  for (const { cls, n: total } of n) {
    const m = counts.get(cls)!;
    let other = 0;
    for (const [k, c] of m) if (!kept.has(k)) other += c;
    for (const [k] of top) {
      const c = m.get(k) ?? 0;
      out.push({ cls, category: k, share: c / total, count: c });
    }
    if (other > 0) out.push({ cls, category: '(other)', share: other / total, count: other });
  }
  return { feature: spec.feature, title: spec.title, rows: out, n };
}

/**
 * Pick and compute the profiles. `importance` (model feature names, most important first) puts the model's top
 * features first; the standard descriptors fill the rest.
 */
export function buildProfiles(summary: FlowSummary, importance: readonly string[]): Profiles {
  const classes: ProfileClass[] =
    summary.classBasis === 'none'
      ? ['all']
      : (['benign', 'malicious'] as const).filter((c) => summary.samples[c].length > 0);
  const rows = new Map<ProfileClass, readonly FlowRow[]>();
  for (const c of classes) rows.set(c, summary.samples[c]);
  const flat = new Map<ProfileClass, Map<string, number | string>[]>();
  for (const c of classes) flat.set(c, flattenSample(rows.get(c)!));

  const numericKeys = new Set<string>();
  for (const list of flat.values()) {
    for (const m of list)
      for (const [k, v] of m) if (typeof v === 'number' && !NOT_FEATURES.test(k)) numericKeys.add(k);
  }
  // Code-valued columns (TLS version, cipher suite) are shown as categories, not as numbers.
  for (const c of CATEGORICAL) numericKeys.delete(c.feature);
  const chosen: { feature: string; title: string; why: NumericProfile['why'] }[] = [];
  const taken = new Set<string>();
  for (const name of importance) {
    if (chosen.length >= MAX_FROM_IMPORTANCE) break;
    const key = name.replace(/\./g, '_');
    if (numericKeys.has(key) && !taken.has(key)) {
      chosen.push({ feature: key, title: key, why: 'importance' });
      taken.add(key);
    }
  }
  const sortedKeys = [...numericKeys].sort();
  for (const d of DEFAULT_FEATURES) {
    for (const re of d.patterns) {
      const key = sortedKeys.find((k) => re.test(k));
      if (key !== undefined) {
        if (!taken.has(key)) {
          chosen.push({ feature: key, title: d.title, why: 'default' });
          taken.add(key);
        }
        break;
      }
    }
  }
  const numeric: NumericProfile[] = [];
  for (const c of chosen) {
    if (numeric.length >= MAX_NUMERIC) break;
    const p = numericProfile(c.feature, c.title, c.why, classes, flat);
    if (p) numeric.push(p);
  }
  const categorical: CategoricalProfile[] = [];
  for (const spec of CATEGORICAL) {
    const p = categoricalProfile(spec, classes, rows);
    if (p) categorical.push(p);
  }
  return { classes, numeric, categorical };
}
