/**
 * Flow records as flow tables: the columns of a record in the default dialect, a record's values as table cells
 * (text, as a CSV/JSONL/Parquet input gives them), and the mapping of a table onto a model's feature names. Shared by
 * training (src/train.ts), scoring (src/score.ts) and the commands, so a capture and its exported table are read
 * the same way.
 */
import { defaultMeters, type FeatureOptions, meterColumns } from './features/index.ts';
import { type ColumnSpec, flatName } from './features/meter.ts';
import { detectDialect } from './ml/dataset.ts';
import { DERIVED_COLUMNS } from './ml/features.ts';
import type { RawTable } from './ml/table.ts';
import { CIC_SOURCE, CIC_WITHOUT_SOURCE, cicSynonyms } from './output/cic2017.ts';
import { IDENTITY_COLUMNS, SOURCE_FILE_COLUMN } from './pipeline.ts';

/**
 * The extraction options a model's features need: the Markov matrices are off by default (200 columns), so a
 * model trained on flows extracted with --markov turns them on when it scores captures.
 */
export function featureOptionsFor(modelFeatures: readonly string[]): FeatureOptions {
  return modelFeatures.some((f) => f.startsWith('markov_')) ? { markov: true } : {};
}

/** Every column of a flow record in the default dialect, in output order. */
export function flowColumns(features: FeatureOptions = {}, withSourceFile = false): ColumnSpec[] {
  return [
    ...IDENTITY_COLUMNS,
    ...(withSourceFile ? [SOURCE_FILE_COLUMN] : []),
    ...meterColumns(defaultMeters(features)),
  ];
}

/** One cell of a flow row as flow tables hold it: text, '1'/'0' for booleans, JSON for lists and objects. */
export function cellText(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? '1' : '0';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * Make a table offer a model's feature names:
 *  - a model trained on CICFlowMeter CSVs (CIC-IDS2017, current CICFlowMeter or CSE-CIC-IDS2018 names) applied to
 *    flowsieve's default output gets each CIC column as an alias of its flowsieve source column
 *    (src/output/cic2017.ts), and applied to a CSV of another CIC dialect, as an alias of the same column there;
 *  - a flowsieve-dialect table lacking some flowsieve columns (JSON Lines omit a group no flow has, e.g. `ssh_*`
 *    in a capture without SSH) gets them as empty (missing) columns — absent there means "not observed"; so do
 *    the CIC columns flowsieve has no equivalent of (CIC_WITHOUT_SOURCE; classify warns about them).
 * Anything else still missing is reported by featureMatrix/buildDataset, naming the columns. `flowsieveTable`
 * says whether `t` holds flowsieve's columns when its names alone cannot (a scorer's partial table).
 */
export function mapFeatures(
  t: RawTable,
  features: readonly string[],
  flowsieveTable = detectDialect(t.names) === 'flowsieve',
): RawTable {
  const have = new Set(t.names);
  if (features.every((f) => have.has(f))) return t;
  const names = [...t.names];
  const cells = [...t.cells];
  const schema = flowsieveTable
    ? new Set([...flowColumns().map(flatName), ...DERIVED_COLUMNS, ...CIC_WITHOUT_SOURCE])
    : null;
  for (const f of features) {
    if (have.has(f)) continue;
    // The flowsieve source column, else the same CIC column under another dialect's name.
    let i = -1;
    for (const src of [CIC_SOURCE.get(f), ...cicSynonyms(f)]) {
      if (src !== undefined && i < 0) i = t.names.indexOf(src);
    }
    if (i >= 0) {
      names.push(f);
      cells.push(t.cells[i]!);
    } else if (schema?.has(f)) {
      names.push(f);
      cells.push(new Array<string | null>(t.nRows).fill(null));
    }
  }
  return { ...t, names, cells };
}

/**
 * Columns flowsieve's schema types as text or lists: never features, even when some of their values look like
 * numbers (`tls_cipher` "0035" would parse as 35 while "c02f" is missing). features.ts derives numeric forms.
 */
let textColumns: Set<string> | null = null;
export function isSchemaTextColumn(name: string): boolean {
  textColumns ??= new Set(
    flowColumns()
      .filter((c) => c.type !== 'int' && c.type !== 'float' && c.type !== 'bool')
      .map(flatName),
  );
  return textColumns.has(name);
}

/** The model features a flowsieve flow record has no equivalent of (scored as missing; see CIC_WITHOUT_SOURCE). */
export function featuresWithoutSource(features: readonly string[]): string[] {
  return features.filter((f) => CIC_WITHOUT_SOURCE.has(f));
}
