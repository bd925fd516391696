/** flowsieve's library API: the functions the CLI commands are built on. */
export { type ExtractRequest, extract, flowColumns } from './api.ts';
export type { ColumnSpec, FlowRow, Meter } from './features/meter.ts';
export type { ExtractStats } from './pipeline.ts';
