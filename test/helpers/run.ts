/** Run the real pipeline over packets built in a test: write them to a temporary pcap, extract, collect rows. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ExtractRequest, extract } from '../../src/api.ts';
import type { ExtractStats } from '../../src/pipeline.ts';
import { type WritePacket, writePcap } from './pcap-writer.ts';

export type Row = Record<string, unknown> & { toJSON?: () => Record<string, unknown> };

export async function flowsOf(
  packets: WritePacket[],
  opts: Omit<ExtractRequest, 'inputs'> & { linkType?: number } = {},
): Promise<{ rows: Row[]; stats: ExtractStats }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'flowsieve-test-'));
  try {
    const file = path.join(dir, 'in.pcap');
    writeFileSync(file, writePcap(packets, { linkType: opts.linkType ?? 1 }));
    const rows: Row[] = [];
    const { stats } = await extract({ ...opts, inputs: [file], onFlow: (r) => rows.push(r as Row) });
    return { rows, stats };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Seconds → µs at a fixed, recognisable epoch (2024-01-01T00:00:00Z). */
export const T0 = 1_704_067_200_000_000;
export const at = (seconds: number) => T0 + Math.round(seconds * 1e6);

export function dropped(stats: ExtractStats): number {
  return Object.values(stats.dropped).reduce((a, b) => a + b, 0);
}
