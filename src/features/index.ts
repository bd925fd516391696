/**
 * The meters flowsieve runs by default, and the full column list they produce (identity columns first).
 */
import { BytesMeter } from './bytes.ts';
import { DnsMeter } from './dns.ts';
import { HttpMeter } from './http.ts';
import { MarkovMeter } from './markov.ts';
import type { ColumnSpec, Meter } from './meter.ts';
import { QuicMeter } from './quic.ts';
import { SpltMeter } from './splt.ts';
import { SshMeter } from './ssh.ts';
import { StatsMeter } from './stats.ts';
import { TlsMeter } from './tls.ts';

export interface FeatureOptions {
  /** Packets recorded per flow in the SPLT sequences. */
  spltLength?: number;
  /** Add the 10×10 Markov matrices of packet lengths and IATs (200 columns). */
  markov?: boolean;
  /** Add the 256-count payload byte distribution list (`bytes_bidirectional_distribution_payload`). */
  byteDistribution?: boolean;
}

export function defaultMeters(opts: FeatureOptions = {}): Meter[] {
  const meters: Meter[] = [
    new StatsMeter(),
    new SpltMeter(opts.spltLength ? { maxPackets: opts.spltLength } : {}),
    new BytesMeter({ distribution: opts.byteDistribution === true }),
    new TlsMeter(),
    new QuicMeter(),
    new DnsMeter(),
    new HttpMeter(),
    new SshMeter(),
  ];
  if (opts.markov) meters.push(new MarkovMeter());
  return meters;
}

export function meterColumns(meters: readonly Meter[]): ColumnSpec[] {
  return meters.flatMap((m) => m.columns);
}
