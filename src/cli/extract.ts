/**
 * `flowsieve extract`: captures → flow records (CSV, JSONL, Parquet), with a summary and optional stats JSON.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type ExtractRequest, extract } from '../api.ts';
import { parseCidr } from '../flow/key.ts';
import type { ExtractStats } from '../pipeline.ts';
import {
  COMPRESSION_HELP,
  captureWarnings,
  EXIT_USAGE,
  formatCount,
  info,
  paint,
  parseCompression,
  parsePositiveInt,
  parseSeconds,
  progressBar,
  UserError,
} from './common.ts';

export interface FlowOptionsCli {
  idleTimeout?: string;
  activeTimeout?: string;
  maxFlows?: string;
  tcpLinger?: string;
  localNet?: string;
  spltLength?: string;
  markov?: boolean;
  byteDistribution?: boolean;
}

/** Flow-engine and feature flags shared by extract and classify. */
export function addFlowOptions(cmd: Command): Command {
  return cmd
    .option('--idle-timeout <seconds>', 'end a flow after this long without packets (default 120; cic2017: 120)')
    .option('--active-timeout <seconds>', 'split flows longer than this (default 1800; cic2017: 120)')
    .option('--max-flows <n>', 'cap on live flows; the least recently seen is evicted when full (default 1000000)')
    .option('--tcp-linger <seconds>', 'keep a closed TCP flow this long for its last ACKs (default 5)')
    .option('--local-net <cidrs>', 'comma-separated CIDRs: the endpoint inside them is src (e.g. 10.0.0.0/8,fd00::/8)')
    .option('--splt-length <n>', 'packets kept in the per-flow length/time sequences (default 20)')
    .option('--markov', 'add the 10x10 Markov matrices of packet lengths and times (200 columns)')
    .option('--byte-distribution', 'add the 256 payload byte-value counts per flow (a list column)');
}

export function flowRequestFromCli(o: FlowOptionsCli, dialect?: string): Pick<ExtractRequest, 'flow' | 'features'> {
  const flow: NonNullable<ExtractRequest['flow']> = {};
  if (dialect === 'cic2017') {
    flow.activeTimeoutUs = 120_000_000;
    flow.idleTimeoutUs = 120_000_000;
  }
  if (o.idleTimeout) flow.idleTimeoutUs = parseSeconds('--idle-timeout', o.idleTimeout) * 1e6;
  if (o.activeTimeout) flow.activeTimeoutUs = parseSeconds('--active-timeout', o.activeTimeout) * 1e6;
  if (o.maxFlows) flow.maxFlows = parsePositiveInt('--max-flows', o.maxFlows);
  if (o.tcpLinger) flow.tcpCloseLingerUs = parseSeconds('--tcp-linger', o.tcpLinger) * 1e6;
  if (o.localNet) {
    flow.localNets = o.localNet.split(',').map((t) => {
      const c = parseCidr(t);
      if (!c) throw new UserError(`--local-net: '${t}' is not an IPv4/IPv6 CIDR`);
      return c;
    });
  }
  const features: NonNullable<ExtractRequest['features']> = {};
  if (o.spltLength) features.spltLength = parsePositiveInt('--splt-length', o.spltLength);
  if (o.markov) features.markov = true;
  if (o.byteDistribution) features.byteDistribution = true;
  return { flow, features };
}

/** One screen on stderr: what was read, what became flows, what was counted aside. */
export function printSummary(stats: ExtractStats, output: string, rows: number): void {
  const mb = stats.bytes_read / 1e6;
  const s = stats.elapsed_s;
  const lines = [
    paint(1, 'flowsieve summary'),
    `  inputs           ${stats.files.length + stats.file_errors.length} file(s), ${mb.toFixed(1)} MB read in ${s.toFixed(2)} s (${formatCount(Math.round(stats.packets_read / Math.max(s, 1e-9)))} packets/s, ${(mb / Math.max(s, 1e-9)).toFixed(1)} MB/s)`,
    `  packets read     ${formatCount(stats.packets_read)}`,
    `  in flows         ${formatCount(stats.packets_in_flows)}`,
  ];
  const dropped = Object.entries(stats.dropped).sort((a, b) => b[1] - a[1]);
  for (const [name, n] of dropped) lines.push(`  ${name.padEnd(16)} ${formatCount(n)}`);
  const reasons = Object.entries(stats.flows_by_end_reason)
    .map(([k, v]) => `${k} ${formatCount(v)}`)
    .join(', ');
  lines.push(`  flows            ${formatCount(stats.flows)}${reasons ? ` (${reasons})` : ''}`);
  if (stats.evictions > 0)
    lines.push(`  evicted          ${formatCount(stats.evictions)} flows (table full; raise --max-flows)`);
  const anomalies = Object.entries(stats.anomalies).sort((a, b) => b[1] - a[1]);
  if (anomalies.length > 0)
    lines.push(`  anomalies        ${anomalies.map(([k, v]) => `${k} ${formatCount(v)}`).join(', ')}`);
  if (stats.warnings > 0) lines.push(`  warnings         ${formatCount(stats.warnings)}`);
  if (stats.file_errors.length > 0)
    lines.push(`  unreadable       ${stats.file_errors.length} file(s) (see the errors above)`);
  lines.push(`  output           ${formatCount(rows)} rows → ${output === '-' ? 'stdout' : output}`);
  info(lines.join('\n'));
}

export function register(program: Command): void {
  const cmd = program
    .command('extract')
    .description('read captures and write one record per bidirectional flow')
    .argument('<inputs...>', "pcap/pcapng files (optionally gzip/zstd), directories, or '-' for stdin")
    .option('-o, --output <path>', "output file (.csv, .jsonl, .parquet) or '-' for stdout", '-')
    .option('--format <format>', 'csv | jsonl | parquet (default: from the extension; jsonl on stdout)')
    .option('--dialect <dialect>', 'default | cic2017 (the exact CIC-IDS2017 85-column CSV)', 'default')
    .option('--stats <file>', 'write the run counters as JSON')
    .option('--compression <codec>', COMPRESSION_HELP)
    .option(
      '--threads <n>',
      'threads: 2 with one input and Parquet output encodes on the second; otherwise one file is sharded by flow hash, several files read in parallel',
      '1',
    )
    .option('-q, --quiet', 'no progress bar and no summary');
  addFlowOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ flowsieve extract capture.pcap -o flows.parquet
  $ flowsieve extract captures/ -o flows.csv --stats stats.json
  $ flowsieve extract day1.pcap --dialect cic2017 -o day1_cic.csv
  $ tcpdump -i eth0 -w - | flowsieve extract - -o - --idle-timeout 30`,
  );
  cmd.action(
    async (
      inputs: string[],
      o: FlowOptionsCli & {
        output: string;
        format?: string;
        dialect: string;
        compression?: string;
        stats?: string;
        quiet?: boolean;
        threads: string;
      },
    ) => {
      if (o.format && !['csv', 'jsonl', 'parquet'].includes(o.format))
        throw new UserError(`--format: expected csv, jsonl or parquet, got '${o.format}'`);
      if (!['default', 'cic2017'].includes(o.dialect))
        throw new UserError(`--dialect: expected default or cic2017, got '${o.dialect}'`);
      if (o.dialect === 'cic2017' && !o.format && o.output === '-') o.format = 'csv';
      const compression = parseCompression(o.compression);
      const bar = progressBar('extract', o.quiet === true);
      const { flow, features } = flowRequestFromCli(o, o.dialect);
      const result = await extract({
        inputs,
        output: o.output,
        format: o.format as 'csv' | 'jsonl' | 'parquet' | undefined,
        dialect: o.dialect as 'default' | 'cic2017',
        compression,
        flow,
        features,
        threads: parsePositiveInt('--threads', o.threads),
        onWarning: captureWarnings(),
        onProgress: (p) => {
          if (p.totalBytes) {
            bar.update(Math.round(p.bytesRead / 1e6), Math.max(1, Math.round(p.totalBytes / 1e6)), {
              packets: formatCount(p.packets),
              rate: `${p.fileIndex + 1}/${p.files} files`,
            });
          }
        },
      }).finally(() => bar.stop());
      const { stats, rows } = result;
      for (const e of stats.file_errors) process.stderr.write(`${paint(31, 'flowsieve: error:')} ${e.message}\n`);
      if (o.stats) writeFileSync(o.stats, `${JSON.stringify({ ...stats, output: o.output, rows }, null, 2)}\n`);
      if (!o.quiet) printSummary(stats, o.output, rows);
      // Exit 2 when nothing at all could be read; a directory with one bad file among good ones still succeeds.
      if (stats.file_errors.length > 0 && stats.files.length === 0) process.exitCode = EXIT_USAGE;
    },
  );
}
