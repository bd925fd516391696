/**
 * The model file: JSON data only (never code), schema-versioned (`format: "flowsieve-model"`, `version: 1`).
 *
 * Loading is defensive because model files get shared: size-capped before parsing; `__proto__`/`constructor`/
 * `prototype` keys rejected (prototype pollution through later object spreads); every number finite (JSON cannot
 * spell NaN/Infinity, but a hand-built object can); zod validates the shape; trees are checked structurally —
 * children strictly after their parent (so no cycles and every walk ends), indices in range, feature ids below the
 * feature count, bounded node/tree counts and depth.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import * as z from 'zod';
import type { Dialect } from './dataset.ts';
import type { Metrics } from './metrics.ts';
import { InputError } from './table.ts';
import { type Forest, gainImportance, type Tree, treeDepth } from './tree.ts';

export const MODEL_FORMAT = 'flowsieve-model';
export const MODEL_VERSION = 1;
export const MAX_MODEL_BYTES = 256 * 1024 * 1024;
export const MAX_TREES = 20_000;
export const MAX_NODES_PER_TREE = 1 << 20;
export const MAX_TOTAL_NODES = 20_000_000;
export const MAX_DEPTH = 128;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/**
 * An array whose every element passes `ok`, checked in one loop: a tree's node arrays hold most of a model's
 * numbers, and zod's per-element schemas (`z.array(z.number().int())`) made the bundled model's first parse (the
 * one classify pays at start, before the JIT warms up) take 32 ms instead of 21 (node 20).
 */
function arrayOf(ok: (v: unknown) => boolean, what: string) {
  return z.custom<number[]>((v) => {
    if (!Array.isArray(v)) return false;
    for (let i = 0; i < v.length; i++) if (!ok(v[i])) return false;
    return true;
  }, `expected an array of ${what}`);
}
const isFiniteNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const indices = arrayOf(Number.isSafeInteger, 'integers');
const finites = arrayOf(isFiniteNumber, 'finite numbers');

const TreeJson = z
  .object({
    output: z.number().int().min(-1),
    feature: indices,
    threshold: finites,
    left: indices,
    right: indices,
    default_left: arrayOf((v) => v === 0 || v === 1, '0 or 1'),
    value: finites,
    cover: finites,
    gain: finites,
  })
  .strict();

const MetricsJson = z.record(z.string(), z.unknown());

export const ModelJson = z
  .object({
    format: z.literal(MODEL_FORMAT),
    version: z.literal(MODEL_VERSION),
    created_at: z.string(),
    generator: z.string(),
    algo: z.enum(['gbdt', 'rf']),
    classes: z.array(z.string().min(1)).min(2).max(1000),
    features: z.array(z.string().min(1)).min(1).max(10_000),
    dialect: z.enum(['flowsieve', 'cic2017', 'cicflowmeter', 'cse-cic-ids2018', 'unknown']),
    threshold: finite.min(0).max(1),
    target_fpr: finite.min(0).max(1),
    base_score: z.array(finite),
    params: z.record(z.string(), z.union([z.string(), finite, z.boolean(), z.null()])),
    training: z
      .object({
        rows: z.number().int().min(0),
        counts: z.record(z.string(), z.number().int().min(0)),
        files: z.array(z.object({ path: z.string(), sha256: z.string(), rows: z.number().int().min(0) }).strict()),
        split: z.string(),
        rounds: z.number().int().min(0).optional(),
      })
      .strict(),
    feature_importance: z.record(z.string(), finite),
    metrics: MetricsJson.nullable(),
    trees: z.array(TreeJson).min(1).max(MAX_TREES),
  })
  .strict();

export type ModelFile = z.infer<typeof ModelJson>;

/** A loaded model: the file plus the forest in typed arrays. */
export interface Model {
  file: ModelFile;
  forest: Forest;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Walk a parsed value: no forbidden keys, no non-finite numbers, no cycles. Returns an error path or null. */
export function checkPlainData(v: unknown): string | null {
  // The walk without paths first: a model's ~20k numbers each made a path string (bundled model, first call:
  // 12.8 → 3.6 ms).
  return isPlainData(v) ? null : plainDataError(v);
}

/** checkPlainData's test, without the error path. */
function isPlainData(v: unknown): boolean {
  const seen = new Set<object>();
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const cur = stack.pop();
    if (typeof cur === 'number') {
      if (!Number.isFinite(cur)) return false;
      continue;
    }
    if (cur === null || typeof cur !== 'object') {
      if (typeof cur === 'function' || typeof cur === 'symbol' || typeof cur === 'bigint' || cur === undefined) {
        return false;
      }
      continue;
    }
    if (seen.has(cur)) return false;
    seen.add(cur);
    if (Array.isArray(cur)) {
      for (let i = 0; i < cur.length; i++) {
        const e: unknown = cur[i];
        // Numbers inline: most of a model's values, and most of the walk.
        if (typeof e === 'number') {
          if (!Number.isFinite(e)) return false;
        } else stack.push(e);
      }
    } else {
      for (const k of Object.keys(cur)) {
        if (FORBIDDEN_KEYS.has(k)) return false;
        stack.push((cur as Record<string, unknown>)[k]);
      }
    }
  }
  return true;
}

/** The first problem checkPlainData reports, with its path. */
function plainDataError(v: unknown): string | null {
  const seen = new Set<object>();
  const stack: { v: unknown; path: string }[] = [{ v, path: '$' }];
  while (stack.length > 0) {
    const { v: cur, path } = stack.pop()!;
    if (typeof cur === 'number') {
      if (!Number.isFinite(cur)) return `${path}: non-finite number`;
      continue;
    }
    if (cur === null || typeof cur !== 'object') {
      if (typeof cur === 'function' || typeof cur === 'symbol' || typeof cur === 'bigint' || cur === undefined) {
        return `${path}: not JSON data`;
      }
      continue;
    }
    if (seen.has(cur)) return `${path}: cycle or shared reference`;
    seen.add(cur);
    if (Array.isArray(cur)) {
      for (let i = 0; i < cur.length; i++) stack.push({ v: cur[i], path: `${path}[${i}]` });
    } else {
      for (const k of Object.keys(cur)) {
        if (FORBIDDEN_KEYS.has(k)) return `${path}: forbidden key ${JSON.stringify(k)}`;
        stack.push({ v: (cur as Record<string, unknown>)[k], path: `${path}.${k}` });
      }
    }
  }
  return null;
}

function fail(source: string, msg: string): never {
  throw new InputError('model_invalid', `${source}: invalid model file: ${msg}`);
}

/** Structural checks for one tree; returns the typed-array tree. */
function checkTree(t: z.infer<typeof TreeJson>, i: number, m: ModelFile, source: string): Tree {
  const n = t.feature.length;
  const where = `tree ${i}`;
  if (n === 0 || n > MAX_NODES_PER_TREE) fail(source, `${where}: ${n} nodes (limit ${MAX_NODES_PER_TREE})`);
  const K = m.classes.length;
  const stride = m.algo === 'rf' ? K : 1;
  for (const [name, arr, len] of [
    ['threshold', t.threshold, n],
    ['left', t.left, n],
    ['right', t.right, n],
    ['default_left', t.default_left, n],
    ['cover', t.cover, n],
    ['gain', t.gain, n],
    ['value', t.value, n * stride],
  ] as const) {
    if (arr.length !== len) fail(source, `${where}: ${name} has ${arr.length} entries, expected ${len}`);
  }
  const nOut = m.algo === 'gbdt' ? (K === 2 ? 1 : K) : K;
  if (m.algo === 'gbdt' ? t.output < 0 || t.output >= nOut : t.output !== -1)
    fail(source, `${where}: bad output ${t.output}`);
  const nF = m.features.length;
  const reached = new Uint8Array(n);
  reached[0] = 1;
  for (let j = 0; j < n; j++) {
    const f = t.feature[j]!;
    if (f >= nF) fail(source, `${where} node ${j}: feature ${f} out of range (model has ${nF} features)`);
    if (f < 0) {
      if (f !== -1 || t.left[j] !== -1 || t.right[j] !== -1) fail(source, `${where} node ${j}: malformed leaf`);
      continue;
    }
    const l = t.left[j]!;
    const r = t.right[j]!;
    // Children strictly after the parent: no cycles, no self-loops, every walk terminates.
    if (!(l > j && l < n && r > j && r < n && l !== r)) fail(source, `${where} node ${j}: child index out of range`);
    if (reached[l] || reached[r]) fail(source, `${where} node ${j}: node reached twice`);
    reached[l] = 1;
    reached[r] = 1;
  }
  const tree: Tree = {
    feature: Int32Array.from(t.feature),
    threshold: Float64Array.from(t.threshold),
    left: Int32Array.from(t.left),
    right: Int32Array.from(t.right),
    defaultLeft: Uint8Array.from(t.default_left),
    value: Float64Array.from(t.value),
    cover: Float64Array.from(t.cover),
    gain: Float64Array.from(t.gain),
    output: t.output,
  };
  if (treeDepth(tree) > MAX_DEPTH) fail(source, `${where}: deeper than ${MAX_DEPTH}`);
  return tree;
}

/** Validate parsed JSON as a model. */
export function modelFromJson(raw: unknown, source = 'model'): Model {
  const bad = checkPlainData(raw);
  if (bad) fail(source, bad);
  if (raw && typeof raw === 'object' && (raw as { format?: unknown }).format !== MODEL_FORMAT) {
    fail(source, `not a flowsieve model (format must be "${MODEL_FORMAT}")`);
  }
  if (raw && typeof raw === 'object' && (raw as { version?: unknown }).version !== MODEL_VERSION) {
    fail(
      source,
      `unsupported version ${JSON.stringify((raw as { version?: unknown }).version)} (this flowsieve reads version ${MODEL_VERSION})`,
    );
  }
  const p = ModelJson.safeParse(raw);
  if (!p.success) {
    const iss = p.error.issues[0]!;
    fail(source, `${iss.path.join('.') || '$'}: ${iss.message}`);
  }
  const m = p.data;
  const total = m.trees.reduce((s, t) => s + t.feature.length, 0);
  if (total > MAX_TOTAL_NODES) fail(source, `${total} nodes in total (limit ${MAX_TOTAL_NODES})`);
  const K = m.classes.length;
  const nOut = m.algo === 'gbdt' ? (K === 2 ? 1 : K) : 0;
  if (m.base_score.length !== nOut) fail(source, `base_score has ${m.base_score.length} entries, expected ${nOut}`);
  if (new Set(m.features).size !== m.features.length) fail(source, 'duplicate feature names');
  const trees = m.trees.map((t, i) => checkTree(t, i, m, source));
  return {
    file: m,
    forest: {
      algo: m.algo,
      nClasses: K,
      stride: m.algo === 'rf' ? K : 1,
      baseScore: m.base_score,
      trees,
      nFeatures: m.features.length,
    },
  };
}

/** Read and validate a model file. */
export function loadModel(file: string): Model {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new InputError('model_unreadable', `${file}: cannot read model file`);
  }
  if (size > MAX_MODEL_BYTES) fail(file, `${size} bytes (limit ${MAX_MODEL_BYTES})`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    fail(file, 'not valid JSON');
  }
  return modelFromJson(raw, file);
}

export interface ModelMeta {
  classes: string[];
  features: string[];
  dialect: Dialect;
  threshold: number;
  targetFpr: number;
  params: Record<string, string | number | boolean | null>;
  training: ModelFile['training'];
  metrics: Metrics | null;
  generator: string;
}

/** Round to float64 → shortest JSON; thresholds stay exact (they are float32 values). */
function arr(a: ArrayLike<number>): number[] {
  return Array.from(a);
}

/** Build the JSON object for a trained forest. */
export function modelToJson(forest: Forest, meta: ModelMeta): ModelFile {
  const imp = gainImportance(forest);
  const importance: Record<string, number> = {};
  const order = Array.from(imp.keys()).sort((a, b) => imp[b]! - imp[a]!);
  for (const i of order) if (imp[i]! > 0) importance[meta.features[i]!] = Number(imp[i]!.toPrecision(6));
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    created_at: new Date().toISOString(),
    generator: meta.generator,
    algo: forest.algo,
    classes: meta.classes,
    features: meta.features,
    dialect: meta.dialect,
    threshold: meta.threshold,
    target_fpr: meta.targetFpr,
    base_score: forest.baseScore,
    params: meta.params,
    training: meta.training,
    feature_importance: importance,
    metrics: meta.metrics as unknown as Record<string, unknown> | null,
    trees: forest.trees.map((t) => ({
      output: t.output,
      feature: arr(t.feature),
      threshold: arr(t.threshold),
      left: arr(t.left),
      right: arr(t.right),
      default_left: Array.from(t.defaultLeft, (v) => (v ? 1 : 0) as 0 | 1),
      value: arr(t.value),
      cover: arr(t.cover),
      gain: arr(t.gain),
    })),
  };
}

/** Write a model file (validated through the same loader first, so we never write what we cannot read). */
export function saveModel(file: string, m: ModelFile): void {
  const text = JSON.stringify(m);
  modelFromJson(JSON.parse(text), file);
  writeFileSync(file, `${text}\n`);
}
