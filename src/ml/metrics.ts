/**
 * Evaluation metrics. Positive class = malicious (any class but 0). Conventions:
 *  - ROC-AUC is the Mann–Whitney statistic with ties counted ½ (equal to the trapezoid area under the ROC curve);
 *  - PR-AUC is average precision, Σ (R_n − R_{n−1}) P_n over distinct score thresholds (sklearn's
 *    `average_precision_score`), not the optimistic trapezoid;
 *  - MCC is Gorodkin's K-class generalisation (equals the binary formula for K = 2); 0 when undefined;
 *  - F1 of a class with no predicted and no true members is 0 (sklearn's zero_division=0).
 *  - TPR at FPR f: the largest TPR over thresholds whose FPR ≤ f.
 */

export interface CurvePoint {
  x: number;
  y: number;
  threshold: number;
}

export interface ClassReport {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Metrics {
  n: number;
  classes: string[];
  threshold: number;
  macro_f1: number;
  f1: number;
  precision: number;
  recall: number;
  roc_auc: number;
  pr_auc: number;
  mcc: number;
  accuracy: number;
  confusion: number[][];
  tpr_at_fpr: Record<string, number>;
  per_class: Record<string, ClassReport>;
  roc_curve: CurvePoint[];
  pr_curve: CurvePoint[];
}

/** Rows sorted by descending score. */
function order(score: ArrayLike<number>): Uint32Array {
  const idx = new Uint32Array(score.length);
  for (let i = 0; i < idx.length; i++) idx[i] = i;
  return idx.sort((a, b) => score[b]! - score[a]!);
}

/** ROC-AUC via ranks with tie correction; NaN when one class is absent. */
export function rocAuc(pos: ArrayLike<boolean | number>, score: ArrayLike<number>): number {
  const n = score.length;
  const idx = order(score);
  let nPos = 0;
  for (let i = 0; i < n; i++) if (pos[i]) nPos++;
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  // Walk descending; for each tie block, positives above beat negatives: count (neg below) pairs.
  let auc = 0;
  let negSeen = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    let p = 0;
    let q = 0;
    while (j < n && score[idx[j]!] === score[idx[i]!]) {
      if (pos[idx[j]!]) p++;
      else q++;
      j++;
    }
    // Positives in this block rank above all negatives not yet seen (below) and tie with q.
    auc += p * (nNeg - negSeen - q) + 0.5 * p * q;
    negSeen += q;
    i = j;
  }
  return auc / (nPos * nNeg);
}

/** Cumulative (fp, tp) at each distinct threshold, descending. */
function sweep(
  pos: ArrayLike<boolean | number>,
  score: ArrayLike<number>,
): { fp: number[]; tp: number[]; thr: number[]; nPos: number; nNeg: number } {
  const n = score.length;
  const idx = order(score);
  let nPos = 0;
  for (let i = 0; i < n; i++) if (pos[i]) nPos++;
  const fp: number[] = [];
  const tp: number[] = [];
  const thr: number[] = [];
  let a = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    if (pos[idx[i]!]) b++;
    else a++;
    if (i === n - 1 || score[idx[i + 1]!] !== score[idx[i]!]) {
      fp.push(a);
      tp.push(b);
      thr.push(score[idx[i]!]!);
    }
  }
  return { fp, tp, thr, nPos, nNeg: n - nPos };
}

/** Average precision (step-wise PR-AUC). */
export function averagePrecision(pos: ArrayLike<boolean | number>, score: ArrayLike<number>): number {
  const s = sweep(pos, score);
  if (s.nPos === 0) return Number.NaN;
  let ap = 0;
  let prevR = 0;
  for (let i = 0; i < s.tp.length; i++) {
    const r = s.tp[i]! / s.nPos;
    const p = s.tp[i]! / (s.tp[i]! + s.fp[i]!);
    ap += (r - prevR) * p;
    prevR = r;
  }
  return ap;
}

/** Largest TPR with FPR ≤ maxFpr (threshold = predict positive when score ≥ threshold). */
export function tprAtFpr(pos: ArrayLike<boolean | number>, score: ArrayLike<number>, maxFpr: number): number {
  const s = sweep(pos, score);
  if (s.nPos === 0 || s.nNeg === 0) return Number.NaN;
  let best = 0;
  for (let i = 0; i < s.tp.length; i++) if (s.fp[i]! / s.nNeg <= maxFpr) best = Math.max(best, s.tp[i]! / s.nPos);
  return best;
}

/**
 * Smallest threshold whose false-positive rate on `pos=false` rows stays ≤ targetFpr (verdict malicious when
 * score ≥ threshold). With no negatives, returns 0.5.
 */
export function thresholdForFpr(pos: ArrayLike<boolean | number>, score: ArrayLike<number>, targetFpr: number): number {
  const s = sweep(pos, score);
  if (s.nNeg === 0) return 0.5;
  let thr = Number.POSITIVE_INFINITY;
  for (let i = 0; i < s.thr.length; i++) {
    if (s.fp[i]! / s.nNeg <= targetFpr) thr = s.thr[i]!;
    else break;
  }
  // Nothing qualifies (even the top score has too many negatives): above the maximum score, nothing flagged.
  if (!Number.isFinite(thr)) thr = Math.min(1, (s.thr[0] ?? 1) + 1e-9);
  return thr;
}

function downsample(points: CurvePoint[], max: number): CurvePoint[] {
  if (points.length <= max) return points;
  const out: CurvePoint[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round((i * (points.length - 1)) / (max - 1))]!);
  return out;
}

/** ROC (x = FPR, y = TPR) and PR (x = recall, y = precision) curves, ≤ maxPoints each. */
export function curves(
  pos: ArrayLike<boolean | number>,
  score: ArrayLike<number>,
  maxPoints = 200,
): { roc: CurvePoint[]; pr: CurvePoint[] } {
  const s = sweep(pos, score);
  const roc: CurvePoint[] = [{ x: 0, y: 0, threshold: Number.MAX_VALUE }];
  const pr: CurvePoint[] = [];
  for (let i = 0; i < s.tp.length; i++) {
    const t = s.thr[i]!;
    roc.push({ x: s.nNeg ? s.fp[i]! / s.nNeg : 0, y: s.nPos ? s.tp[i]! / s.nPos : 0, threshold: t });
    pr.push({ x: s.nPos ? s.tp[i]! / s.nPos : 0, y: s.tp[i]! / (s.tp[i]! + s.fp[i]!), threshold: t });
  }
  roc[0]!.threshold = 1;
  return { roc: downsample(roc, maxPoints), pr: downsample(pr, maxPoints) };
}

/** K×K confusion matrix, rows = true class, columns = predicted. */
export function confusion(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, K: number): number[][] {
  const m = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  for (let i = 0; i < yTrue.length; i++) m[yTrue[i]!]![yPred[i]!]!++;
  return m;
}

/** Matthews correlation coefficient from a confusion matrix (Gorodkin 2004). */
export function mcc(cm: number[][]): number {
  const K = cm.length;
  let s = 0;
  let c = 0;
  const t = new Array<number>(K).fill(0);
  const p = new Array<number>(K).fill(0);
  for (let i = 0; i < K; i++) {
    for (let j = 0; j < K; j++) {
      const v = cm[i]![j]!;
      s += v;
      t[i]! += v;
      p[j]! += v;
      if (i === j) c += v;
    }
  }
  let tp = 0;
  let pp = 0;
  let tt = 0;
  for (let k = 0; k < K; k++) {
    tp += t[k]! * p[k]!;
    pp += p[k]! * p[k]!;
    tt += t[k]! * t[k]!;
  }
  const den = Math.sqrt((s * s - pp) * (s * s - tt));
  return den === 0 ? 0 : (c * s - tp) / den;
}

/** Per-class precision/recall/F1 from a confusion matrix. */
export function perClass(cm: number[][]): ClassReport[] {
  const K = cm.length;
  const out: ClassReport[] = [];
  for (let k = 0; k < K; k++) {
    const tp = cm[k]![k]!;
    let predicted = 0;
    let support = 0;
    for (let j = 0; j < K; j++) {
      predicted += cm[j]![k]!;
      support += cm[k]![j]!;
    }
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    out.push({ precision, recall, f1, support });
  }
  return out;
}

/**
 * Full report. `proba` is `n × K` row-major; the binary verdict is p_malicious = 1 − p(class 0) ≥ threshold.
 * For K = 2 the predicted class is the verdict; for K > 2 it is the arg-max class, except that a row below the
 * threshold is predicted benign and a row above it never benign (so multiclass and binary views agree).
 */
export function evaluate(yTrue: Int32Array, proba: Float64Array, classes: string[], threshold: number): Metrics {
  const n = yTrue.length;
  const K = classes.length;
  const score = new Float64Array(n);
  const pos = new Uint8Array(n);
  const pred = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    score[r] = 1 - proba[r * K]!;
    pos[r] = yTrue[r] !== 0 ? 1 : 0;
    const mal = score[r]! >= threshold;
    if (K === 2) pred[r] = mal ? 1 : 0;
    else if (!mal) pred[r] = 0;
    else {
      let best = 1;
      for (let k = 2; k < K; k++) if (proba[r * K + k]! > proba[r * K + best]!) best = k;
      pred[r] = best;
    }
  }
  const cm = confusion(yTrue, pred, K);
  const pc = perClass(cm);
  // sklearn's macro average: over classes present in the truth or the predictions.
  const present = pc.filter((c, k) => c.support > 0 || cm.some((row) => row[k]! > 0));
  const macro = present.reduce((s, c) => s + c.f1, 0) / Math.max(1, present.length);
  // Binary view (malicious = positive).
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const m = pred[r] !== 0;
    if (m && pos[r]) tp++;
    else if (m) fp++;
    else if (pos[r]) fn++;
    if (pred[r] === yTrue[r]) correct++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  const { roc, pr } = curves(pos, score);
  const per_class: Record<string, ClassReport> = {};
  classes.forEach((c, k) => {
    per_class[c] = pc[k]!;
  });
  return {
    n,
    classes,
    threshold,
    macro_f1: macro,
    f1: precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0,
    precision,
    recall,
    roc_auc: rocAuc(pos, score),
    pr_auc: averagePrecision(pos, score),
    mcc: mcc(cm),
    accuracy: n ? correct / n : 0,
    confusion: cm,
    tpr_at_fpr: { '0.01': tprAtFpr(pos, score, 0.01), '0.001': tprAtFpr(pos, score, 0.001) },
    per_class,
    roc_curve: roc,
    pr_curve: pr,
  };
}

/** Ranking quality with every (group, class) pair weighing 1 in total: see `groupWeightedRanking`. */
export interface GroupWeighted {
  /** Weighted ROC-AUC (ties count one half). */
  roc_auc: number;
  /** Weighted TPR at weighted FPR ≤ 1 % and 0.1 %. */
  tpr_at_fpr: Record<string, number>;
  /** Groups with positives / with negatives. */
  groups: { positive: number; negative: number };
}

/**
 * ROC-AUC and TPR at fixed FPR where each (group, class) pair — a capture's malicious flows, a capture's benign
 * flows — weighs 1 in total. Flow-level metrics over many captures are decided by the few largest ones (two flood
 * captures hold half the malicious flows of the bundled model's data); this asks instead "how well are the
 * captures ranked", the question a user with a new capture has. Rows with a NaN score are skipped.
 */
export function groupWeightedRanking(
  pos: ArrayLike<boolean | number>,
  score: ArrayLike<number>,
  groups: ArrayLike<number>,
): GroupWeighted {
  const n = score.length;
  const count = new Map<number, number>();
  const key = (r: number): number => groups[r]! * 2 + (pos[r] ? 1 : 0);
  for (let r = 0; r < n; r++) if (!Number.isNaN(score[r]!)) count.set(key(r), (count.get(key(r)) ?? 0) + 1);
  let P = 0;
  let N = 0;
  let gp = 0;
  let gn = 0;
  for (const k of count.keys()) {
    if (k % 2 === 1) gp++;
    else gn++;
  }
  P = gp;
  N = gn;
  const order = Array.from({ length: n }, (_, r) => r)
    .filter((r) => !Number.isNaN(score[r]!))
    .sort((a, b) => score[b]! - score[a]!);
  let tp = 0;
  let fp = 0;
  let auc = 0;
  const targets = [0.01, 0.001];
  const tpr = targets.map(() => 0);
  for (let i = 0; i < order.length; ) {
    let j = i;
    let dtp = 0;
    let dfp = 0;
    // A run of tied scores moves TP and FP together (a diagonal step of the ROC curve).
    while (j < order.length && score[order[j]!] === score[order[i]!]) {
      const r = order[j]!;
      const w = 1 / count.get(key(r))!;
      if (pos[r]) dtp += w;
      else dfp += w;
      j++;
    }
    if (P > 0 && N > 0) auc += ((dfp / N) * (tp + dtp / 2)) / P;
    tp += dtp;
    fp += dfp;
    targets.forEach((t, k) => {
      if (N > 0 && P > 0 && fp / N <= t + 1e-12) tpr[k] = tp / P;
    });
    i = j;
  }
  return {
    roc_auc: P > 0 && N > 0 ? auc : Number.NaN,
    tpr_at_fpr: { '0.01': tpr[0]!, '0.001': tpr[1]! },
    groups: { positive: gp, negative: gn },
  };
}
