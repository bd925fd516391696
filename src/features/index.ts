/**
 * The meters flowsieve runs by default, and the full column list they produce (identity columns first).
 */
import { type ColumnSpec, type Meter } from './meter.ts';
import { StatsMeter } from './stats.ts';

export interface FeatureOptions {
  /** Packets recorded per flow in the SPLT sequences. */
  spltLength?: number;
  /** Add the 10×10 Markov matrices of packet lengths and IATs (200 columns). */
  markov?: boolean;
}

export function defaultMeters(_opts: FeatureOptions = {}): Meter[] {
  return [new StatsMeter()];
}

export function meterColumns(meters: readonly Meter[]): ColumnSpec[] {
  return meters.flatMap((m) => m.columns);
}
