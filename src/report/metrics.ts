/**
 * Model quality for the report, from either an evaluation JSON (written by `flowsieve evaluate`) or, when none
 * is given, the labelled and scored flows themselves. The evaluation reader is deliberately tolerant: it accepts
 * the shapes scikit-learn users write by hand (curves as point lists or as parallel arrays, confusion as a
 * matrix or as tp/fp/tn/fn, per-class metrics as a map or a list, sklearn's classification_report dict), so a
 * report never fails on a field it does not know — unknown scalars are listed as they are.
 */
import { type Confusion, type FlowSummary, SCORE_BINS } from './aggregate.ts';
import { toNumber, toText } from './rows.ts';

export interface CurvePoint {
  x: number;
  y: number;
  threshold?: number;
}

export interface OperatingPoint {
  threshold?: number;
  fpr?: number;
  tpr?: number;
  precision?: number;
  recall?: number;
}

export interface ClassMetrics {
  label: string;
  precision?: number;
  recall?: number;
  f1?: number;
  support?: number;
}

export interface ModelQuality {
  /** Where the numbers come from. */
  source: 'evaluation' | 'flows';
  headline: { name: string; value: number }[];
  roc?: { points: CurvePoint[]; auc?: number };
  pr?: { points: CurvePoint[]; ap?: number; prevalence?: number };
  operating?: OperatingPoint;
  /** Rows are true classes, columns predicted (scikit-learn's convention). */
  confusion?: { labels: string[]; matrix: number[][] };
  perClass: ClassMetrics[];
  tprAtFpr: { fpr: number; tpr: number }[];
  importance: { feature: string; importance: number }[];
  /** Other scalar fields of the evaluation JSON, shown as they are. */
  other: { name: string; value: string }[];
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(o: Obj, k: string): unknown {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

function firstNum(o: Obj, keys: readonly string[]): number | undefined {
  for (const k of keys) {
    const n = toNumber(own(o, k));
    if (!Number.isNaN(n)) return n;
  }
  return undefined;
}

function firstOf(o: Obj, keys: readonly string[]): unknown {
  for (const k of keys) {
    const v = own(o, k);
    if (v !== undefined && v !== null) return v;
  }
  return undefined;
}

const HEADLINE: readonly [string, readonly string[]][] = [
  ['Macro F1', ['macro_f1', 'f1_macro']],
  ['F1 (malicious)', ['f1', 'f1_malicious']],
  ['ROC AUC', ['roc_auc', 'auc']],
  ['PR AUC', ['pr_auc', 'average_precision', 'ap']],
  ['MCC', ['mcc', 'matthews_corrcoef']],
  ['Balanced accuracy', ['balanced_accuracy']],
  ['Accuracy', ['accuracy']],
  ['Precision', ['precision']],
  ['Recall', ['recall']],
];

/** Keys the reader consumes; every other scalar goes to `other`. */
const CONSUMED = new Set<string>([
  ...HEADLINE.flatMap(([, keys]) => keys),
  'roc_curve',
  'roc',
  'pr_curve',
  'pr',
  'precision_recall_curve',
  'confusion',
  'confusion_matrix',
  'labels',
  'classes',
  'per_class',
  'report',
  'classification_report',
  'tpr_at_fpr',
  'feature_importance',
  'feature_importances',
  'threshold',
  'operating_point',
  'metrics',
]);

/**
 * A curve from a list of points ({fpr,tpr} / {recall,precision} / {x,y} / [x, y]) or parallel arrays
 * ({fpr: [...], tpr: [...], thresholds: [...]}).
 */
function readCurve(v: unknown, xKey: string, yKey: string): CurvePoint[] {
  const out: CurvePoint[] = [];
  const push = (x: unknown, y: unknown, t?: unknown): void => {
    const xn = toNumber(x);
    const yn = toNumber(y);
    if (Number.isNaN(xn) || Number.isNaN(yn)) return;
    const p: CurvePoint = { x: xn, y: yn };
    const tn = toNumber(t);
    if (!Number.isNaN(tn)) p.threshold = tn;
    out.push(p);
  };
  if (Array.isArray(v)) {
    for (const p of v) {
      if (Array.isArray(p)) push(p[0], p[1], p[2]);
      else if (isObj(p)) push(firstOf(p, [xKey, 'x']), firstOf(p, [yKey, 'y']), firstOf(p, ['threshold', 't']));
    }
  } else if (isObj(v)) {
    const xs = firstOf(v, [xKey, 'x']);
    const ys = firstOf(v, [yKey, 'y']);
    const ts = firstOf(v, ['thresholds', 'threshold']);
    if (Array.isArray(xs) && Array.isArray(ys)) {
      const n = Math.min(xs.length, ys.length);
      for (let i = 0; i < n; i++) push(xs[i], ys[i], Array.isArray(ts) ? ts[i] : undefined);
    } else if (Array.isArray(own(v, 'points'))) {
      return readCurve(own(v, 'points'), xKey, yKey);
    }
  }
  return out;
}

/** Drop points that move less than `eps` in both axes from the last kept one (curves can have 1e6 thresholds). */
export function thinCurve(points: CurvePoint[], eps = 0.002): CurvePoint[] {
  if (points.length <= 2) return points;
  const out: CurvePoint[] = [points[0]!];
  let last = points[0]!;
  for (let i = 1; i < points.length - 1; i++) {
    const p = points[i]!;
    if (Math.abs(p.x - last.x) >= eps || Math.abs(p.y - last.y) >= eps) {
      out.push(p);
      last = p;
    }
  }
  out.push(points[points.length - 1]!);
  return out;
}

function readConfusion(root: Obj): { labels: string[]; matrix: number[][] } | undefined {
  const v = firstOf(root, ['confusion', 'confusion_matrix']);
  let labels = firstOf(isObj(v) ? v : {}, ['labels', 'classes']) ?? firstOf(root, ['labels', 'classes']);
  let matrix: unknown = Array.isArray(v) ? v : isObj(v) ? firstOf(v, ['matrix', 'values', 'counts']) : undefined;
  if (isObj(v) && matrix === undefined) {
    const tp = firstNum(v, ['tp', 'true_positives']);
    const fp = firstNum(v, ['fp', 'false_positives']);
    const tn = firstNum(v, ['tn', 'true_negatives']);
    const fn = firstNum(v, ['fn', 'false_negatives']);
    if (tp !== undefined && fp !== undefined && tn !== undefined && fn !== undefined) {
      matrix = [
        [tn, fp],
        [fn, tp],
      ];
      labels = ['benign', 'malicious'];
    }
  }
  if (!Array.isArray(matrix) || matrix.length === 0) return undefined;
  const rows = matrix.map((r) => (Array.isArray(r) ? r.map((c) => toNumber(c)) : []));
  const n = rows.length;
  if (!rows.every((r) => r.length === n && r.every((c) => !Number.isNaN(c)))) return undefined;
  let names = Array.isArray(labels) ? labels.map((l) => toText(l) ?? '?') : [];
  if (names.length !== n) names = n === 2 ? ['benign', 'malicious'] : rows.map((_, i) => `class ${i}`);
  return { labels: names, matrix: rows };
}

function readClassMetrics(label: string, o: Obj): ClassMetrics | undefined {
  const m: ClassMetrics = { label };
  const p = firstNum(o, ['precision']);
  const r = firstNum(o, ['recall', 'tpr']);
  const f = firstNum(o, ['f1', 'f1-score', 'f1_score']);
  const s = firstNum(o, ['support', 'n', 'count']);
  if (p !== undefined) m.precision = p;
  if (r !== undefined) m.recall = r;
  if (f !== undefined) m.f1 = f;
  if (s !== undefined) m.support = s;
  return p === undefined && r === undefined && f === undefined ? undefined : m;
}

function readPerClass(root: Obj): ClassMetrics[] {
  const v = firstOf(root, ['per_class', 'classification_report', 'report', 'classes']);
  const out: ClassMetrics[] = [];
  if (Array.isArray(v)) {
    for (const item of v) {
      if (!isObj(item)) continue;
      const m = readClassMetrics(toText(firstOf(item, ['label', 'class', 'name'])) ?? '?', item);
      if (m) out.push(m);
    }
  } else if (isObj(v)) {
    for (const [label, item] of Object.entries(v)) {
      if (!isObj(item)) continue; // sklearn's report carries a scalar "accuracy" beside the classes
      const m = readClassMetrics(label, item);
      if (m) out.push(m);
    }
  }
  return out;
}

function readTprAtFpr(root: Obj): { fpr: number; tpr: number }[] {
  const v = own(root, 'tpr_at_fpr');
  const out: { fpr: number; tpr: number }[] = [];
  if (typeof v === 'number') {
    const fpr = firstNum(root, ['fpr_target', 'target_fpr', 'max_fpr']);
    if (fpr !== undefined) out.push({ fpr, tpr: v });
  } else if (Array.isArray(v)) {
    for (const item of v) {
      if (!isObj(item)) continue;
      const fpr = firstNum(item, ['fpr', 'max_fpr', 'target_fpr']);
      const tpr = firstNum(item, ['tpr', 'recall']);
      if (fpr !== undefined && tpr !== undefined) out.push({ fpr, tpr });
    }
  } else if (isObj(v)) {
    for (const [k, val] of Object.entries(v)) {
      const fpr = toNumber(k.replace(/^fpr[_=@]?/i, ''));
      const tpr = isObj(val) ? firstNum(val, ['tpr', 'recall']) : toNumber(val);
      if (!Number.isNaN(fpr) && tpr !== undefined && !Number.isNaN(tpr)) out.push({ fpr, tpr });
    }
  }
  return out.sort((a, b) => a.fpr - b.fpr);
}

/** Feature importance from a map, a list of {feature, importance} or a list of [name, value]; top `n`, largest first. */
export function readImportance(v: unknown, n = 20): { feature: string; importance: number }[] {
  const out: { feature: string; importance: number }[] = [];
  const push = (name: unknown, value: unknown): void => {
    const f = toText(name);
    const x = toNumber(value);
    if (f !== undefined && !Number.isNaN(x)) out.push({ feature: f, importance: x });
  };
  if (Array.isArray(v)) {
    for (const item of v) {
      if (Array.isArray(item)) push(item[0], item[1]);
      else if (isObj(item))
        push(firstOf(item, ['feature', 'name', 'column']), firstOf(item, ['importance', 'gain', 'value', 'score']));
    }
  } else if (isObj(v)) {
    for (const [k, val] of Object.entries(v)) push(k, isObj(val) ? firstOf(val, ['importance', 'gain', 'value']) : val);
  }
  return out.sort((a, b) => Math.abs(b.importance) - Math.abs(a.importance)).slice(0, n);
}

/** Index of the curve point whose threshold is nearest `t`. */
function nearestByThreshold(points: CurvePoint[], t: number): CurvePoint | undefined {
  let best: CurvePoint | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const p of points) {
    if (p.threshold === undefined) continue;
    const d = Math.abs(p.threshold - t);
    if (d < bestD) {
      bestD = d;
      best = p;
    }
  }
  return best;
}

function operatingFromConfusion(c: Confusion): OperatingPoint {
  const op: OperatingPoint = {};
  if (c.tp + c.fn > 0) op.tpr = op.recall = c.tp / (c.tp + c.fn);
  if (c.fp + c.tn > 0) op.fpr = c.fp / (c.fp + c.tn);
  if (c.tp + c.fp > 0) op.precision = c.tp / (c.tp + c.fp);
  return op;
}

/** tp/fp/tn/fn of a 2×2 matrix whose second class is the positive (malicious) one. */
function binaryConfusion(conf: { labels: string[]; matrix: number[][] } | undefined): Confusion | undefined {
  if (conf === undefined || conf.matrix.length !== 2) return undefined;
  const [r0, r1] = conf.matrix as [number[], number[]];
  return { tn: r0[0]!, fp: r0[1]!, fn: r1[0]!, tp: r1[1]! };
}

/**
 * Normalise an evaluation JSON. `model` may add feature importance and a threshold; `fallbackThreshold` is used
 * when neither names one. Returns undefined when the object has nothing the report can show.
 */
export function readEvaluation(
  evaluation: unknown,
  model: unknown,
  fallbackThreshold: number | undefined,
): ModelQuality | undefined {
  if (!isObj(evaluation)) return undefined;
  const nested = own(evaluation, 'metrics');
  const root: Obj = isObj(nested) ? { ...evaluation, ...nested } : evaluation;
  const q: ModelQuality = { source: 'evaluation', headline: [], perClass: [], tprAtFpr: [], importance: [], other: [] };
  for (const [name, keys] of HEADLINE) {
    const v = firstNum(root, keys);
    if (v !== undefined) q.headline.push({ name, value: v });
  }
  const roc = readCurve(firstOf(root, ['roc_curve', 'roc']), 'fpr', 'tpr');
  if (roc.length > 1) {
    const r: ModelQuality['roc'] = { points: thinCurve(roc.sort((a, b) => a.x - b.x || a.y - b.y)) };
    const auc = firstNum(root, ['roc_auc', 'auc']);
    if (auc !== undefined) r.auc = auc;
    q.roc = r;
  }
  const pr = readCurve(firstOf(root, ['pr_curve', 'pr', 'precision_recall_curve']), 'recall', 'precision');
  if (pr.length > 1) {
    const p: ModelQuality['pr'] = { points: thinCurve(pr.sort((a, b) => a.x - b.x || b.y - a.y)) };
    const ap = firstNum(root, ['pr_auc', 'average_precision', 'ap']);
    if (ap !== undefined) p.ap = ap;
    const prevalence = firstNum(root, ['prevalence', 'positive_rate']);
    if (prevalence !== undefined) p.prevalence = prevalence;
    q.pr = p;
  }
  const confusion = readConfusion(root);
  if (confusion) q.confusion = confusion;
  q.perClass = readPerClass(root);
  q.tprAtFpr = readTprAtFpr(root);
  q.importance = readImportance(
    firstOf(root, ['feature_importance', 'feature_importances']) ??
      (isObj(model) ? firstOf(model, ['feature_importance', 'feature_importances']) : undefined),
  );

  const threshold =
    firstNum(root, ['threshold']) ?? (isObj(model) ? firstNum(model, ['threshold']) : undefined) ?? fallbackThreshold;
  const op: OperatingPoint = {};
  const given = own(root, 'operating_point');
  if (isObj(given)) {
    for (const k of ['threshold', 'fpr', 'tpr', 'precision', 'recall'] as const) {
      const v = firstNum(given, [k]);
      if (v !== undefined) op[k] = v;
    }
  }
  if (threshold !== undefined && op.threshold === undefined) op.threshold = threshold;
  const bin = binaryConfusion(confusion);
  if (bin) Object.assign(op, { ...operatingFromConfusion(bin), ...op });
  if (op.threshold !== undefined) {
    const r = q.roc && nearestByThreshold(q.roc.points, op.threshold);
    if (r && op.fpr === undefined) {
      op.fpr = r.x;
      op.tpr = r.y;
    }
    const p = q.pr && nearestByThreshold(q.pr.points, op.threshold);
    if (p && op.precision === undefined) {
      op.recall = p.x;
      op.precision = p.y;
    }
  }
  if (Object.keys(op).length > 0) q.operating = op;
  if (q.pr && q.pr.prevalence === undefined && bin && bin.tp + bin.fn + bin.fp + bin.tn > 0) {
    q.pr.prevalence = (bin.tp + bin.fn) / (bin.tp + bin.fn + bin.fp + bin.tn);
  }
  if (q.perClass.length === 0 && bin) q.perClass = perClassFromConfusion(bin);

  for (const [k, v] of Object.entries(root)) {
    if (CONSUMED.has(k)) continue;
    if (typeof v === 'number' || typeof v === 'boolean') q.other.push({ name: k, value: String(v) });
    else if (typeof v === 'string') q.other.push({ name: k, value: v.length > 200 ? `${v.slice(0, 200)}…` : v });
  }
  const hasContent =
    q.headline.length > 0 || q.roc || q.pr || q.confusion || q.perClass.length > 0 || q.importance.length > 0;
  return hasContent ? q : undefined;
}

function f1(p: number, r: number): number {
  return p + r === 0 ? 0 : (2 * p * r) / (p + r);
}

function perClassFromConfusion(c: Confusion): ClassMetrics[] {
  const pm = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
  const rm = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  const pb = c.tn + c.fn === 0 ? 0 : c.tn / (c.tn + c.fn);
  const rb = c.tn + c.fp === 0 ? 0 : c.tn / (c.tn + c.fp);
  return [
    { label: 'benign', precision: pb, recall: rb, f1: f1(pb, rb), support: c.tn + c.fp },
    { label: 'malicious', precision: pm, recall: rm, f1: f1(pm, rm), support: c.tp + c.fn },
  ];
}

/** Matthews correlation coefficient; 0 when a marginal is empty (scikit-learn's convention). */
export function mcc(c: Confusion): number {
  const d = Math.sqrt((c.tp + c.fp) * (c.tp + c.fn) * (c.tn + c.fp) * (c.tn + c.fn));
  return d === 0 ? 0 : (c.tp * c.tn - c.fp * c.fn) / d;
}

/**
 * Model quality computed from labelled, scored flows: ROC and PR curves from the per-class score histograms
 * (thresholds every 1/SCORE_BINS; flows in one bin are tied, handled like scikit-learn handles tied scores:
 * a diagonal ROC step), AUC by the trapezoid rule, average precision as Σ (Rₙ − Rₙ₋₁)·Pₙ (scikit-learn's
 * definition), and the confusion at the operating threshold counted exactly during the pass.
 */
export function qualityFromFlows(s: FlowSummary): ModelQuality | undefined {
  const pos = s.scoreHistograms.malicious;
  const neg = s.scoreHistograms.benign;
  let P = 0;
  let N = 0;
  for (let i = 0; i < SCORE_BINS; i++) {
    P += pos[i]!;
    N += neg[i]!;
  }
  const q: ModelQuality = { source: 'flows', headline: [], perClass: [], tprAtFpr: [], importance: [], other: [] };
  if (P > 0 && N > 0) {
    const roc: CurvePoint[] = [{ x: 0, y: 0, threshold: 1 }];
    const pr: CurvePoint[] = [{ x: 0, y: 1, threshold: 1 }];
    let tp = 0;
    let fp = 0;
    let auc = 0;
    let ap = 0;
    for (let b = SCORE_BINS - 1; b >= 0; b--) {
      if (pos[b] === 0 && neg[b] === 0) continue;
      const prevTpr = tp / P;
      const prevFpr = fp / N;
      tp += pos[b]!;
      fp += neg[b]!;
      const tpr = tp / P;
      const fpr = fp / N;
      auc += ((fpr - prevFpr) * (tpr + prevTpr)) / 2;
      const precision = tp / (tp + fp);
      ap += (tpr - prevTpr) * precision;
      roc.push({ x: fpr, y: tpr, threshold: b / SCORE_BINS });
      pr.push({ x: tpr, y: precision, threshold: b / SCORE_BINS });
    }
    q.roc = { points: thinCurve(roc), auc };
    q.pr = { points: thinCurve(pr), ap, prevalence: P / (P + N) };
    // TPR at fixed false-positive budgets, read off the binned curve (largest TPR with FPR ≤ budget).
    for (const budget of [0.001, 0.01, 0.1]) {
      let best = 0;
      for (const p of roc) if (p.x <= budget && p.y > best) best = p.y;
      q.tprAtFpr.push({ fpr: budget, tpr: best });
    }
  }
  const c = s.confusion;
  if (c) {
    q.confusion = {
      labels: ['benign', 'malicious'],
      matrix: [
        [c.tn, c.fp],
        [c.fn, c.tp],
      ],
    };
    q.perClass = perClassFromConfusion(c);
    q.operating = { threshold: s.threshold, ...operatingFromConfusion(c) };
    const macro = (q.perClass[0]!.f1! + q.perClass[1]!.f1!) / 2;
    q.headline.push({ name: 'Macro F1', value: macro }, { name: 'F1 (malicious)', value: q.perClass[1]!.f1! });
  }
  if (q.roc?.auc !== undefined) q.headline.push({ name: 'ROC AUC', value: q.roc.auc });
  if (q.pr?.ap !== undefined) q.headline.push({ name: 'PR AUC (AP)', value: q.pr.ap });
  if (c) {
    q.headline.push({ name: 'MCC', value: mcc(c) });
    const total = c.tp + c.fp + c.tn + c.fn;
    if (total > 0) q.headline.push({ name: 'Accuracy', value: (c.tp + c.tn) / total });
  }
  return q.roc || q.confusion ? q : undefined;
}
