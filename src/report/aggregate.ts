/**
 * One pass over the flows, in bounded memory, producing everything the report plots. Flows may come from a
 * file streamed row by row, so nothing here keeps all rows: exact counters and histograms for totals, scores
 * and the timeline; capped heavy-hitter tables for talkers (pruned to the largest when they overflow, then
 * flagged approximate); a top-K heap for the riskiest flows; and seeded reservoir samples (Vitter's
 * Algorithm R) per class from which the feature distributions are drawn. The report's size therefore does not
 * grow with the number of flows (bench/report.ts measures it).
 */
import { Prng } from '../ml/prng.ts';
import {
  type FlowClass,
  type FlowRow,
  flowApplication,
  flowBytes,
  flowEndUs,
  flowPackets,
  flowScore,
  flowSni,
  flowStartUs,
  flowVerdict,
  labelClass,
  protocolName,
  rawLabel,
  toText,
} from './rows.ts';

/** Score histograms use this many equal bins over [0, 1]; ROC/PR curves from flows are exact up to this grain. */
export const SCORE_BINS = 1000;
/** Score bands for the timeline colours: [0, .2), [.2, .4), ... [.8, 1]. */
export const SCORE_BANDS = 5;

export interface AggregateOptions {
  /** Score at or above which an unscored-verdict flow counts as flagged (and the operating point). Default 0.5. */
  threshold?: number;
  /** Rows in the riskiest-flows table. Default 50. */
  topFlows?: number;
  /** Flows kept per class for the feature distributions. Default 10 000. */
  samplePerClass?: number;
  /** Seed of the sampling PRNG, so a report is reproducible. Default 1. */
  seed?: number;
}

/** One row of a ranked table (protocols, applications, hosts, server names, end reasons, files). */
export interface Tally {
  key: string;
  flows: number;
  bytes: number;
  packets: number;
  /** Flows flagged malicious (verdict, else score ≥ threshold). */
  flagged: number;
}

export interface LabelTally {
  label: string;
  cls: FlowClass;
  flows: number;
  flagged: number;
  scored: number;
}

export interface TimelineBin {
  startUs: number;
  /** Flows started in this bin per score band (index 0 = lowest scores), then one slot for unscored flows. */
  counts: number[];
}

export interface TimelinePoint {
  startUs: number;
  score: number;
  flagged: boolean;
}

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface FlowSummary {
  flows: number;
  packets: number;
  bytes: number;
  /** Earliest start / latest end in µs, NaN when no row has times. */
  firstUs: number;
  lastUs: number;
  /** Distinct IP addresses (exact up to HOST_SET_CAP, then `hostsCapped`). */
  hosts: number;
  hostsCapped: boolean;
  protocols: Tally[];
  applications: Tally[];
  srcHosts: Tally[];
  dstHosts: Tally[];
  serverNames: Tally[];
  endReasons: Tally[];
  sourceFiles: Tally[];
  /** True when a heavy-hitter table overflowed and was pruned: its counts are lower bounds. */
  talliesApproximate: boolean;
  scored: number;
  flagged: number;
  verdicts: { benign: number; malicious: number };
  labelled: number;
  labels: LabelTally[];
  threshold: number;
  /** Which column the per-class overlays use: labels when any row has one, else verdicts, else none. */
  classBasis: 'label' | 'verdict' | 'none';
  /** Flows per class under `classBasis`. */
  classTotals: { benign: number; malicious: number };
  /** Uniform samples per class under `classBasis`, and of all flows. */
  samples: { benign: FlowRow[]; malicious: FlowRow[]; all: FlowRow[] };
  /** Score histograms (SCORE_BINS bins) of scored flows: by label class when labelled, and of all scored flows. */
  scoreHistograms: { benign: Float64Array; malicious: Float64Array; all: Float64Array };
  /** Label vs prediction over flows that have both (prediction = verdict, else score ≥ threshold). */
  confusion: Confusion | undefined;
  /** The riskiest flows, highest score first. */
  riskiest: FlowRow[];
  timeline: { binUs: number; bins: TimelineBin[] };
  /** Sample of scored flow starts for the timeline scatter: every flagged flow up to a cap, and a sample of the rest. */
  timelinePoints: TimelinePoint[];
  timelinePointsFrom: { flagged: number; other: number };
}

/** Cap of each heavy-hitter table before pruning to its largest half. */
const TALLY_CAP = 100_000;
const HOST_SET_CAP = 2_000_000;
/** Distinct labels tracked; a labels column with more distinct values is not a class label. */
const LABEL_CAP = 1000;
/**
 * Timeline bin widths in µs, finest first: round durations a reader recognises ("each bar covers 10 s"), each
 * a whole multiple of the one before, so coarsening merges whole bins and stays exact. Past a week: doubling.
 */
const TIMELINE_WIDTHS_US = [
  1e3, 2e3, 1e4, 2e4, 1e5, 2e5, 1e6, 2e6, 1e7, 2e7, 6e7, 1.2e8, 6e8, 1.2e9, 3.6e9, 7.2e9, 2.16e10, 4.32e10, 8.64e10,
  6.048e11,
];
/** At most this many live timeline bins before the width steps up, and at most this many drawn. */
const TIMELINE_LIVE_BINS = 8192;
const TIMELINE_DRAWN_BINS = 240;
const TIMELINE_POINTS_PER_GROUP = 1000;

class TallyTable {
  readonly map = new Map<string, Tally>();
  pruned = false;

  add(key: string, bytes: number, packets: number, flagged: boolean): void {
    let t = this.map.get(key);
    if (t === undefined) {
      if (this.map.size >= TALLY_CAP) this.prune();
      t = { key, flows: 0, bytes: 0, packets: 0, flagged: 0 };
      this.map.set(key, t);
    }
    t.flows++;
    t.bytes += bytes;
    t.packets += packets;
    if (flagged) t.flagged++;
  }

  /** Keep the largest half by flows (Space-Saving in spirit: the heavy hitters survive, the tail is forgotten). */
  private prune(): void {
    const kept = [...this.map.values()].sort((a, b) => b.flows - a.flows || b.bytes - a.bytes).slice(0, TALLY_CAP / 2);
    this.map.clear();
    for (const t of kept) this.map.set(t.key, t);
    this.pruned = true;
  }

  top(n: number, by: 'flows' | 'bytes' = 'flows'): Tally[] {
    const other: 'flows' | 'bytes' = by === 'flows' ? 'bytes' : 'flows';
    return [...this.map.values()]
      .sort((a, b) => b[by] - a[by] || b[other] - a[other] || (a.key < b.key ? -1 : 1))
      .slice(0, n);
  }
}

/** Fixed-size uniform sample (Algorithm R). */
class Reservoir<T> {
  readonly items: T[] = [];
  seen = 0;
  constructor(
    private readonly cap: number,
    private readonly rng: Prng,
  ) {}

  offer(item: T): void {
    const k = this.slot();
    if (k >= 0) this.items[k] = item;
  }

  /** Count one more item and return the slot it takes, or -1: callers build the item only when kept. */
  slot(): number {
    this.seen++;
    if (this.items.length < this.cap) return this.items.length;
    const j = this.rng.nextInt(this.seen);
    return j < this.cap ? j : -1;
  }
}

/** Min-heap of the K highest-scoring rows (ties broken by bytes). */
class TopK {
  private readonly heap: { score: number; bytes: number; row: FlowRow }[] = [];
  constructor(private readonly k: number) {}

  private less(a: { score: number; bytes: number }, b: { score: number; bytes: number }): boolean {
    return a.score < b.score || (a.score === b.score && a.bytes < b.bytes);
  }

  offer(score: number, bytes: number, row: FlowRow): void {
    const h = this.heap;
    if (this.k === 0) return;
    if (h.length === this.k) {
      // Cheap reject before allocating: not above the current minimum.
      const min = h[0]!;
      if (!(min.score < score || (min.score === score && min.bytes < bytes))) return;
    }
    const item = { score, bytes, row };
    if (h.length < this.k) {
      h.push(item);
      let i = h.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.less(h[i]!, h[p]!)) break;
        [h[i], h[p]] = [h[p]!, h[i]!];
        i = p;
      }
      return;
    }
    h[0] = item;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }

  sorted(): FlowRow[] {
    return [...this.heap].sort((a, b) => (this.less(a, b) ? 1 : this.less(b, a) ? -1 : 0)).map((x) => x.row);
  }
}

export class FlowAggregator {
  private readonly threshold: number;
  private readonly rng: Prng;
  private flows = 0;
  private packets = 0;
  private bytes = 0;
  private firstUs = Number.POSITIVE_INFINITY;
  private lastUs = Number.NEGATIVE_INFINITY;
  private readonly hosts = new Set<string>();
  private hostsCapped = false;
  private readonly protocols = new TallyTable();
  private readonly applications = new TallyTable();
  private readonly srcHosts = new TallyTable();
  private readonly dstHosts = new TallyTable();
  private readonly serverNames = new TallyTable();
  private readonly endReasons = new TallyTable();
  private readonly sourceFiles = new TallyTable();
  private scored = 0;
  private flagged = 0;
  private readonly verdicts = { benign: 0, malicious: 0 };
  private labelled = 0;
  private readonly labels = new Map<string, LabelTally>();
  private labelsOverflow = 0;
  private readonly byLabel: { benign: Reservoir<FlowRow>; malicious: Reservoir<FlowRow> };
  private readonly byVerdict: { benign: Reservoir<FlowRow>; malicious: Reservoir<FlowRow> };
  private readonly all: Reservoir<FlowRow>;
  private readonly scoreHist = {
    benign: new Float64Array(SCORE_BINS),
    malicious: new Float64Array(SCORE_BINS),
    all: new Float64Array(SCORE_BINS),
  };
  private readonly confusion: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
  private confusionRows = 0;
  private readonly top: TopK;
  private timelineBinUs = TIMELINE_WIDTHS_US[0]!;
  private timelineBins = new Map<number, number[]>();
  private readonly flaggedPoints: Reservoir<TimelinePoint>;
  private readonly otherPoints: Reservoir<TimelinePoint>;

  constructor(options: AggregateOptions = {}) {
    this.threshold = options.threshold ?? 0.5;
    this.rng = new Prng(options.seed ?? 1);
    const per = options.samplePerClass ?? 10_000;
    this.byLabel = { benign: new Reservoir(per, this.rng), malicious: new Reservoir(per, this.rng) };
    this.byVerdict = { benign: new Reservoir(per, this.rng), malicious: new Reservoir(per, this.rng) };
    this.all = new Reservoir(per, this.rng);
    this.top = new TopK(options.topFlows ?? 50);
    this.flaggedPoints = new Reservoir(TIMELINE_POINTS_PER_GROUP, this.rng);
    this.otherPoints = new Reservoir(TIMELINE_POINTS_PER_GROUP, this.rng);
  }

  add(row: FlowRow): void {
    this.flows++;
    const bytesRaw = flowBytes(row);
    const packetsRaw = flowPackets(row);
    const bytes = Number.isNaN(bytesRaw) ? 0 : bytesRaw;
    const packets = Number.isNaN(packetsRaw) ? 0 : packetsRaw;
    this.bytes += bytes;
    this.packets += packets;
    const start = flowStartUs(row);
    const end = flowEndUs(row);
    if (!Number.isNaN(start) && start < this.firstUs) this.firstUs = start;
    const last = Number.isNaN(end) ? start : end;
    if (!Number.isNaN(last) && last > this.lastUs) this.lastUs = last;

    const score = flowScore(row);
    const verdict = flowVerdict(row);
    const hasScore = !Number.isNaN(score);
    if (hasScore) this.scored++;
    if (verdict !== undefined) this.verdicts[verdict]++;
    const flagged = verdict !== undefined ? verdict === 'malicious' : hasScore && score >= this.threshold;
    if (flagged) this.flagged++;

    const src = toText(row.src_ip);
    const dst = toText(row.dst_ip);
    this.countHost(src);
    this.countHost(dst);
    this.protocols.add(protocolName(row), bytes, packets, flagged);
    this.applications.add(flowApplication(row), bytes, packets, flagged);
    if (src !== undefined) this.srcHosts.add(src, bytes, packets, flagged);
    if (dst !== undefined) this.dstHosts.add(dst, bytes, packets, flagged);
    const sni = flowSni(row);
    if (sni !== undefined) this.serverNames.add(sni, bytes, packets, flagged);
    const reason = toText(row.end_reason);
    if (reason !== undefined) this.endReasons.add(reason, bytes, packets, flagged);
    const file = toText(row.source_file);
    if (file !== undefined) this.sourceFiles.add(file, bytes, packets, flagged);

    const label = rawLabel(row);
    if (label !== undefined) {
      this.labelled++;
      const cls = labelClass(label);
      let t = this.labels.get(label);
      if (t === undefined && this.labels.size < LABEL_CAP) {
        t = { label, cls, flows: 0, flagged: 0, scored: 0 };
        this.labels.set(label, t);
      }
      if (t === undefined) this.labelsOverflow++;
      else {
        t.flows++;
        if (flagged) t.flagged++;
        if (hasScore) t.scored++;
      }
      this.byLabel[cls].offer(row);
      if (hasScore) this.scoreHist[cls][scoreBin(score)]!++;
      if (hasScore || verdict !== undefined) {
        this.confusionRows++;
        if (cls === 'malicious') flagged ? this.confusion.tp++ : this.confusion.fn++;
        else flagged ? this.confusion.fp++ : this.confusion.tn++;
      }
    }
    if (verdict !== undefined) this.byVerdict[verdict].offer(row);
    this.all.offer(row);
    if (hasScore) {
      this.scoreHist.all[scoreBin(score)]!++;
      this.top.offer(score, bytes, row);
    }

    if (!Number.isNaN(start)) {
      this.addTimeline(start, hasScore ? Math.min(SCORE_BANDS - 1, Math.floor(score * SCORE_BANDS)) : SCORE_BANDS);
      if (hasScore) {
        const res = flagged ? this.flaggedPoints : this.otherPoints;
        const k = res.slot();
        if (k >= 0) res.items[k] = { startUs: start, score, flagged };
      }
    }
  }

  private countHost(ip: string | undefined): void {
    if (ip === undefined || this.hostsCapped) return;
    this.hosts.add(ip);
    if (this.hosts.size >= HOST_SET_CAP) this.hostsCapped = true;
  }

  /** Count a start in a bin; the width steps up (merging whole bins) whenever the live bins exceed their cap. */
  private addTimeline(startUs: number, slot: number): void {
    const key = Math.floor(startUs / this.timelineBinUs);
    let counts = this.timelineBins.get(key);
    if (counts === undefined) {
      if (this.timelineBins.size >= TIMELINE_LIVE_BINS) {
        this.coarsenTimeline();
        this.addTimeline(startUs, slot);
        return;
      }
      counts = new Array<number>(SCORE_BANDS + 1).fill(0);
      this.timelineBins.set(key, counts);
    }
    counts[slot]!++;
  }

  private coarsenTimeline(): void {
    const i = TIMELINE_WIDTHS_US.indexOf(this.timelineBinUs);
    const next = i >= 0 && i + 1 < TIMELINE_WIDTHS_US.length ? TIMELINE_WIDTHS_US[i + 1]! : this.timelineBinUs * 2;
    const factor = Math.round(next / this.timelineBinUs);
    const merged = new Map<number, number[]>();
    for (const [k, counts] of this.timelineBins) {
      const nk = Math.floor(k / factor);
      const m = merged.get(nk);
      if (m === undefined) merged.set(nk, counts);
      else for (let j = 0; j < counts.length; j++) m[j]! += counts[j]!;
    }
    this.timelineBins = merged;
    this.timelineBinUs = next;
  }

  finish(): FlowSummary {
    while (this.timelineBins.size > 0) {
      const keys = [...this.timelineBins.keys()];
      let lo = keys[0]!;
      let hi = lo;
      for (const k of keys) {
        if (k < lo) lo = k;
        if (k > hi) hi = k;
      }
      if (hi - lo + 1 <= TIMELINE_DRAWN_BINS) break;
      this.coarsenTimeline();
    }
    const bins: TimelineBin[] = [...this.timelineBins.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([k, counts]) => ({ startUs: k * this.timelineBinUs, counts }));

    const classBasis =
      this.labelled > 0 ? 'label' : this.verdicts.benign + this.verdicts.malicious > 0 ? 'verdict' : 'none';
    const classRes = classBasis === 'label' ? this.byLabel : this.byVerdict;
    const labels = [...this.labels.values()].sort((a, b) => b.flows - a.flows || (a.label < b.label ? -1 : 1));
    const prune = (t: TallyTable): boolean => t.pruned;
    return {
      flows: this.flows,
      packets: this.packets,
      bytes: this.bytes,
      firstUs: Number.isFinite(this.firstUs) ? this.firstUs : Number.NaN,
      lastUs: Number.isFinite(this.lastUs) ? this.lastUs : Number.NaN,
      hosts: this.hosts.size,
      hostsCapped: this.hostsCapped,
      protocols: this.protocols.top(12),
      applications: this.applications.top(15),
      srcHosts: this.srcHosts.top(10, 'bytes'),
      dstHosts: this.dstHosts.top(10, 'flows'),
      serverNames: this.serverNames.top(12),
      endReasons: this.endReasons.top(10),
      sourceFiles: this.sourceFiles.top(20),
      talliesApproximate: [this.applications, this.srcHosts, this.dstHosts, this.serverNames].some(prune),
      scored: this.scored,
      flagged: this.flagged,
      verdicts: { ...this.verdicts },
      labelled: this.labelled,
      labels: this.labelsOverflow > 0 ? labels.slice(0, 30) : labels,
      threshold: this.threshold,
      classBasis,
      classTotals: { benign: classRes.benign.seen, malicious: classRes.malicious.seen },
      samples:
        classBasis === 'none'
          ? { benign: [], malicious: [], all: this.all.items }
          : { benign: classRes.benign.items, malicious: classRes.malicious.items, all: this.all.items },
      scoreHistograms: this.scoreHist,
      confusion: this.confusionRows > 0 ? { ...this.confusion } : undefined,
      riskiest: this.top.sorted(),
      timeline: { binUs: this.timelineBinUs, bins },
      timelinePoints: [...this.flaggedPoints.items, ...this.otherPoints.items].sort((a, b) => a.score - b.score),
      timelinePointsFrom: { flagged: this.flaggedPoints.seen, other: this.otherPoints.seen },
    };
  }
}

/** Bin of a score; the 1e-9 nudge puts grid values like 0.437 (0.437 × 1000 = 436.99999999999994) in their own bin. */
function scoreBin(score: number): number {
  const b = Math.floor(score * SCORE_BINS + 1e-9);
  return Math.min(SCORE_BINS - 1, Math.max(0, b));
}

/** Aggregate an array, iterable or async iterable of rows. */
export async function aggregateFlows(
  flows: Iterable<FlowRow> | AsyncIterable<FlowRow>,
  options: AggregateOptions = {},
): Promise<FlowSummary> {
  const agg = new FlowAggregator(options);
  if (Symbol.asyncIterator in flows) {
    for await (const row of flows as AsyncIterable<FlowRow>) agg.add(row);
  } else {
    for (const row of flows as Iterable<FlowRow>) agg.add(row);
  }
  return agg.finish();
}
