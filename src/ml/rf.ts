/**
 * Random forest (Breiman 2001): bootstrap rows per tree, √F candidate features per node, Gini impurity, trees
 * grown until pure or `minSamplesLeaf` (sklearn's RandomForestClassifier defaults), probability = mean of the
 * leaves' class distributions. Splits are searched over the same quantile bins as the GBDT (class-count histograms
 * instead of sorting), and missing values take the better side, as in gbdt.ts. Like sklearn, when none of the
 * sampled features can split a node, the remaining features are tried before giving up.
 */
import { ALL_VALUES_THRESHOLD, applyBins, type BinnedMatrix, fitBins } from './binning.ts';
import type { TrainSet } from './gbdt.ts';
import { Prng } from './prng.ts';
import { type Forest, type Tree, TreeBuilder } from './tree.ts';

export interface RfParams {
  nTrees: number;
  /** 0 = unlimited (capped at 64). */
  maxDepth: number;
  minSamplesLeaf: number;
  /** Candidate features per node; 0 = round(√F). */
  maxFeatures: number;
  maxBins: number;
  bootstrap: boolean;
  seed: number;
}

export const DEFAULT_RF: RfParams = {
  nTrees: 100,
  maxDepth: 0,
  minSamplesLeaf: 1,
  maxFeatures: 0,
  maxBins: 255,
  bootstrap: true,
  seed: 1,
};

interface Task {
  node: number;
  start: number;
  end: number;
  depth: number;
}

export function trainRf(
  train: TrainSet,
  params: Partial<RfParams>,
  onTree?: (treesDone: number, nTrees: number) => void,
): Forest {
  const p = { ...DEFAULT_RF, ...params };
  const rng = new Prng(p.seed);
  const { nRows: n, nF, nClasses: K, y } = train;
  const w = train.weight;
  const mapper = fitBins(train.x, n, nF, p.maxBins);
  const b = applyBins(mapper, train.x, n);
  const mtry = p.maxFeatures > 0 ? Math.min(nF, p.maxFeatures) : Math.max(1, Math.round(Math.sqrt(nF)));
  const maxDepth = p.maxDepth > 0 ? Math.min(p.maxDepth, 64) : 64;
  const idx = new Uint32Array(n);
  const tmp = new Uint32Array(n);
  const maxCells = Math.max(...Array.from(b.nValueBins, (v) => v + 1), 1);
  const hist = new Float64Array(maxCells * K);
  const tot = new Float64Array(K);
  const left = new Float64Array(K);
  const right = new Float64Array(K);
  const miss = new Float64Array(K);
  const feats = Int32Array.from({ length: nF }, (_, i) => i);
  const trees: Tree[] = [];

  const rowWeight = (r: number): number => (w ? w[r]! : 1);

  for (let t = 0; t < p.nTrees; t++) {
    for (let i = 0; i < n; i++) idx[i] = p.bootstrap ? rng.nextInt(n) : i;
    idx.sort(); // sorted row ids read the columns in order
    const tb = new TreeBuilder(K);
    const dist = (start: number, end: number, out: Float64Array): number => {
      out.fill(0);
      for (let i = start; i < end; i++) out[y[idx[i]!]!]! += rowWeight(idx[i]!);
      let s = 0;
      for (let k = 0; k < K; k++) s += out[k]!;
      return s;
    };
    const normalised = (d: Float64Array, s: number): number[] => Array.from(d, (v) => (s > 0 ? v / s : 0));
    let s0 = dist(0, n, tot);
    const root = tb.addLeaf(normalised(tot, s0), s0);
    const stack: Task[] = [{ node: root, start: 0, end: n, depth: 0 }];
    while (stack.length > 0) {
      const task = stack.pop()!;
      const { start, end } = task;
      const cnt = end - start;
      if (task.depth >= maxDepth || cnt < 2 * p.minSamplesLeaf) continue;
      s0 = dist(start, end, tot);
      let pure = false;
      for (let k = 0; k < K; k++) if (tot[k] === s0) pure = true;
      if (pure) continue;
      let parentScore = 0;
      for (let k = 0; k < K; k++) parentScore += tot[k]! * tot[k]!;
      parentScore /= s0;
      // Best split by Σ L_k²/|L| + Σ R_k²/|R| (maximising it minimises weighted Gini).
      let best = parentScore + 1e-12;
      let bf = -1;
      let bBin = 0;
      let bDefLeft = false;
      rng.shuffle(feats);
      for (let j = 0; j < nF; j++) {
        if (j >= mtry && bf >= 0) break;
        const f = feats[j]!;
        const nb = b.nValueBins[f]!;
        const col = f * n;
        hist.fill(0, 0, (nb + 1) * K);
        for (let i = start; i < end; i++) {
          const r = idx[i]!;
          hist[b.bins[col + r]! * K + y[r]!]! += rowWeight(r);
        }
        let ms = 0;
        for (let k = 0; k < K; k++) {
          miss[k] = hist[nb * K + k]!;
          ms += miss[k]!;
        }
        left.fill(0);
        let ls = 0;
        for (let bin = 0; bin < nb; bin++) {
          let binSum = 0;
          for (let k = 0; k < K; k++) {
            const v = hist[bin * K + k]!;
            left[k]! += v;
            binSum += v;
          }
          if (binSum === 0 && bin < nb - 1) continue;
          ls += binSum;
          if (bin === nb - 1 && ms === 0) break;
          // Missing → right, then missing → left.
          for (let dir = 0; dir < 2; dir++) {
            if (dir === 1 && (ms === 0 || bin === nb - 1)) break;
            const lSum = dir === 1 ? ls + ms : ls;
            const rSum = s0 - lSum;
            if (lSum < p.minSamplesLeaf || rSum < p.minSamplesLeaf || lSum <= 0 || rSum <= 0) continue;
            let sl = 0;
            let sr = 0;
            for (let k = 0; k < K; k++) {
              const l = left[k]! + (dir === 1 ? miss[k]! : 0);
              const rr = tot[k]! - l;
              sl += l * l;
              sr += rr * rr;
            }
            const score = sl / lSum + sr / rSum;
            if (score > best) {
              best = score;
              bf = f;
              bBin = bin;
              bDefLeft = dir === 1;
            }
          }
        }
      }
      if (bf < 0) continue;
      // Partition rows.
      const missingBin = b.nValueBins[bf]!;
      const col = bf * n;
      let l = start;
      let rn = 0;
      for (let i = start; i < end; i++) {
        const r = idx[i]!;
        const bin = b.bins[col + r]!;
        if (bin === missingBin ? bDefLeft : bin <= bBin) idx[l++] = r;
        else tmp[rn++] = r;
      }
      idx.set(tmp.subarray(0, rn), l);
      const node = task.node;
      const edges = mapper.edges[bf]!;
      tb.feature[node] = bf;
      tb.threshold[node] = bBin < edges.length ? edges[bBin]! : ALL_VALUES_THRESHOLD;
      tb.defaultLeft[node] = bDefLeft ? 1 : 0;
      tb.gain[node] = best - parentScore;
      const ls2 = dist(start, l, left);
      const rs2 = dist(l, end, right);
      const ln = tb.addLeaf(normalised(left, ls2), ls2);
      const rnId = tb.addLeaf(normalised(right, rs2), rs2);
      tb.left[node] = ln;
      tb.right[node] = rnId;
      stack.push(
        { node: rnId, start: l, end, depth: task.depth + 1 },
        { node: ln, start, end: l, depth: task.depth + 1 },
      );
    }
    trees.push(tb.build(-1));
    onTree?.(t + 1, p.nTrees);
  }
  return { algo: 'rf', nClasses: K, stride: K, baseScore: [], trees, nFeatures: nF };
}

export type { BinnedMatrix };
