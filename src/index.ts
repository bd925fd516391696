/** flowsieve's library API: the functions the CLI commands are built on. */
export {
  type ClassifyRequest,
  classify,
  DEFAULT_MODEL,
  type ExtractRequest,
  extract,
  flowColumns,
  type ScoredFlow,
} from './api.ts';
export type { ColumnSpec, FlowRow, Meter } from './features/meter.ts';
export type { Metrics } from './ml/metrics.ts';
export type { ModelFile } from './ml/model.ts';
export { InputError } from './ml/table.ts';
export type { CvResult, FitOptions } from './ml/train.ts';
export type { ExtractStats } from './pipeline.ts';
export {
  type DatasetSummary,
  type TrainProgress,
  type TrainRequest,
  type TrainResult,
  train,
} from './train.ts';
