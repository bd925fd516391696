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
import { CIC2017_SOURCE } from './output/cic2017.ts';
import { IDENTITY_COLUMNS, SOURCE_FILE_COLUMN } from './pipeline.ts';

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
 *  - a model trained on CIC-IDS2017 columns applied to flowsieve's default output gets each CIC column as an
 *    alias of its flowsieve source column (src/output/cic2017.ts);
 *  - a flowsieve-dialect table lacking some flowsieve columns (JSON Lines omit a group no flow has, e.g. `ssh_*`
 *    in a capture without SSH) gets them as empty (missing) columns — absent there means "not observed".
 * Anything else still missing is reported by featureMatrix/buildDataset, naming the columns.
 */
export function mapFeatures(t: RawTable, features: readonly string[]): RawTable {
  const have = new Set(t.names);
  if (features.every((f) => have.has(f))) return t;
  const names = [...t.names];
  const cells = [...t.cells];
  const schema =
    detectDialect(t.names) === 'flowsieve' ? new Set([...flowColumns().map(flatName), ...DERIVED_COLUMNS]) : null;
  for (const f of features) {
    if (have.has(f)) continue;
    const src = CIC2017_SOURCE.get(f);
    const i = src === undefined ? -1 : t.names.indexOf(src);
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
