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
export type { ExtractStats } from './pipeline.ts';
