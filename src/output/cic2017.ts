/**
 * The CIC-IDS2017 dialect: the exact 85-column header of the published CIC-IDS2017 CSVs (names and order from
 * ../shared/reference/cic-columns.md, including the duplicated "Fwd Header Length" and the misspelt
 * "CWE Flag Count"), filled from flowsieve's own (bug-fixed) statistics in CICFlowMeter's units: times in µs,
 * lengths = transport payload bytes, rates per second. "Label" is empty unless the row carries a `label`.
 * Timestamp is the first packet's time in UTC as "YYYY-MM-DD HH:MM:SS.ffffff" (the improved CIC-IDS2017 release's
 * format). Values that are null in flowsieve (rates of zero-duration flows) are written as 0, because tools of that
 * ecosystem do not accept empty cells there; CICFlowMeter wrote Infinity/NaN.
 */
type Row = Record<string, unknown>;
type Get = (r: Row) => unknown;

const n =
  (k: string): Get =>
  (r) =>
    r[k] ?? 0;

function timestamp(us: number): string {
  const d = new Date(Math.floor(us / 1000));
  const p = (x: number, w = 2) => String(x).padStart(w, '0');
  const micro = Math.floor(us % 1_000_000);
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(micro, 6)}`;
}

export const CIC2017_COLUMNS: readonly (readonly [string, Get])[] = [
  ['Flow ID', (r) => `${r.src_ip}-${r.dst_ip}-${r.src_port}-${r.dst_port}-${r.protocol}`],
  ['Source IP', n('src_ip')],
  ['Source Port', n('src_port')],
  ['Destination IP', n('dst_ip')],
  ['Destination Port', n('dst_port')],
  ['Protocol', n('protocol')],
  ['Timestamp', (r) => timestamp(Number(r.first_seen_us ?? 0))],
  ['Flow Duration', n('duration_us')],
  ['Total Fwd Packets', n('fwd_packets')],
  ['Total Backward Packets', n('bwd_packets')],
  ['Total Length of Fwd Packets', n('fwd_payload_bytes')],
  ['Total Length of Bwd Packets', n('bwd_payload_bytes')],
  ['Fwd Packet Length Max', n('src2dst_max_payload_bytes')],
  ['Fwd Packet Length Min', n('src2dst_min_payload_bytes')],
  ['Fwd Packet Length Mean', n('src2dst_mean_payload_bytes')],
  ['Fwd Packet Length Std', n('src2dst_stddev_payload_bytes')],
  ['Bwd Packet Length Max', n('dst2src_max_payload_bytes')],
  ['Bwd Packet Length Min', n('dst2src_min_payload_bytes')],
  ['Bwd Packet Length Mean', n('dst2src_mean_payload_bytes')],
  ['Bwd Packet Length Std', n('dst2src_stddev_payload_bytes')],
  ['Flow Bytes/s', n('bidirectional_bytes_per_s')],
  ['Flow Packets/s', n('bidirectional_packets_per_s')],
  ['Flow IAT Mean', n('bidirectional_mean_piat_us')],
  ['Flow IAT Std', n('bidirectional_stddev_piat_us')],
  ['Flow IAT Max', n('bidirectional_max_piat_us')],
  ['Flow IAT Min', n('bidirectional_min_piat_us')],
  ['Fwd IAT Total', n('src2dst_total_piat_us')],
  ['Fwd IAT Mean', n('src2dst_mean_piat_us')],
  ['Fwd IAT Std', n('src2dst_stddev_piat_us')],
  ['Fwd IAT Max', n('src2dst_max_piat_us')],
  ['Fwd IAT Min', n('src2dst_min_piat_us')],
  ['Bwd IAT Total', n('dst2src_total_piat_us')],
  ['Bwd IAT Mean', n('dst2src_mean_piat_us')],
  ['Bwd IAT Std', n('dst2src_stddev_piat_us')],
  ['Bwd IAT Max', n('dst2src_max_piat_us')],
  ['Bwd IAT Min', n('dst2src_min_piat_us')],
  ['Fwd PSH Flags', n('src2dst_psh_packets')],
  ['Bwd PSH Flags', n('dst2src_psh_packets')],
  ['Fwd URG Flags', n('src2dst_urg_packets')],
  ['Bwd URG Flags', n('dst2src_urg_packets')],
  ['Fwd Header Length', n('src2dst_header_bytes')],
  ['Bwd Header Length', n('dst2src_header_bytes')],
  ['Fwd Packets/s', n('src2dst_packets_per_s')],
  ['Bwd Packets/s', n('dst2src_packets_per_s')],
  ['Min Packet Length', n('bidirectional_min_payload_bytes')],
  ['Max Packet Length', n('bidirectional_max_payload_bytes')],
  ['Packet Length Mean', n('bidirectional_mean_payload_bytes')],
  ['Packet Length Std', n('bidirectional_stddev_payload_bytes')],
  ['Packet Length Variance', n('bidirectional_variance_payload_bytes')],
  ['FIN Flag Count', n('bidirectional_fin_packets')],
  ['SYN Flag Count', n('bidirectional_syn_packets')],
  ['RST Flag Count', n('bidirectional_rst_packets')],
  ['PSH Flag Count', n('bidirectional_psh_packets')],
  ['ACK Flag Count', n('bidirectional_ack_packets')],
  ['URG Flag Count', n('bidirectional_urg_packets')],
  ['CWE Flag Count', n('bidirectional_cwr_packets')],
  ['ECE Flag Count', n('bidirectional_ece_packets')],
  ['Down/Up Ratio', n('down_up_ratio')],
  ['Average Packet Size', n('bidirectional_mean_payload_bytes')],
  ['Avg Fwd Segment Size', n('src2dst_mean_payload_bytes')],
  ['Avg Bwd Segment Size', n('dst2src_mean_payload_bytes')],
  ['Fwd Header Length', n('src2dst_header_bytes')],
  ['Fwd Avg Bytes/Bulk', n('src2dst_bulk_mean_bytes')],
  ['Fwd Avg Packets/Bulk', n('src2dst_bulk_mean_packets')],
  ['Fwd Avg Bulk Rate', n('src2dst_bulk_rate_bytes_per_s')],
  ['Bwd Avg Bytes/Bulk', n('dst2src_bulk_mean_bytes')],
  ['Bwd Avg Packets/Bulk', n('dst2src_bulk_mean_packets')],
  ['Bwd Avg Bulk Rate', n('dst2src_bulk_rate_bytes_per_s')],
  ['Subflow Fwd Packets', n('src2dst_subflow_mean_packets')],
  ['Subflow Fwd Bytes', n('src2dst_subflow_mean_bytes')],
  ['Subflow Bwd Packets', n('dst2src_subflow_mean_packets')],
  ['Subflow Bwd Bytes', n('dst2src_subflow_mean_bytes')],
  ['Init_Win_bytes_forward', n('src2dst_init_window_bytes')],
  ['Init_Win_bytes_backward', n('dst2src_init_window_bytes')],
  ['act_data_pkt_fwd', n('src2dst_data_packets')],
  ['min_seg_size_forward', n('src2dst_min_payload_bytes')],
  ['Active Mean', n('active_mean_us')],
  ['Active Std', n('active_stddev_us')],
  ['Active Max', n('active_max_us')],
  ['Active Min', n('active_min_us')],
  ['Idle Mean', n('idle_mean_us')],
  ['Idle Std', n('idle_stddev_us')],
  ['Idle Max', n('idle_max_us')],
  ['Idle Min', n('idle_min_us')],
  ['Label', (r) => r.label ?? ''],
];

/** CICFlowMeter's defaults used with this dialect: 120 s flow (active) timeout, no separate idle timeout. */
export const CIC2017_FLOW_DEFAULTS = { activeTimeoutUs: 120_000_000, idleTimeoutUs: 120_000_000 } as const;

/**
 * Which default-dialect column feeds each CIC-IDS2017 column (for models trained on CIC CSVs and applied to
 * flowsieve output). Computed columns (Flow ID, Timestamp, Label) are absent.
 */
export const CIC2017_SOURCE: ReadonlyMap<string, string> = new Map(
  CIC2017_COLUMNS.flatMap(([name, get]) => {
    const probe: Record<string, unknown> = new Proxy({}, { get: (_t, k) => `@${String(k)}` });
    const v = get(probe);
    return typeof v === 'string' && v.startsWith('@') ? [[name, v.slice(1)] as [string, string]] : [];
  }),
);

/**
 * The same columns under the names of the other CICFlowMeter CSV dialects (verbatim lists in
 * ../shared/reference/cic-columns.md): [CIC-IDS2017, current CICFlowMeter (FlowFeature.java; the improved
 * CIC-IDS2017 release uses it), CSE-CIC-IDS2018 (CICFlowMeter-V4 short names)], listed where the names differ.
 */
const DIALECT_NAMES: readonly (readonly [string, string, string])[] = [
  ['Destination Port', 'Dst Port', 'Dst Port'],
  ['Total Fwd Packets', 'Total Fwd Packet', 'Tot Fwd Pkts'],
  ['Total Backward Packets', 'Total Bwd packets', 'Tot Bwd Pkts'],
  ['Total Length of Fwd Packets', 'Total Length of Fwd Packet', 'TotLen Fwd Pkts'],
  ['Total Length of Bwd Packets', 'Total Length of Bwd Packet', 'TotLen Bwd Pkts'],
  ['Fwd Packet Length Max', 'Fwd Packet Length Max', 'Fwd Pkt Len Max'],
  ['Fwd Packet Length Min', 'Fwd Packet Length Min', 'Fwd Pkt Len Min'],
  ['Fwd Packet Length Mean', 'Fwd Packet Length Mean', 'Fwd Pkt Len Mean'],
  ['Fwd Packet Length Std', 'Fwd Packet Length Std', 'Fwd Pkt Len Std'],
  ['Bwd Packet Length Max', 'Bwd Packet Length Max', 'Bwd Pkt Len Max'],
  ['Bwd Packet Length Min', 'Bwd Packet Length Min', 'Bwd Pkt Len Min'],
  ['Bwd Packet Length Mean', 'Bwd Packet Length Mean', 'Bwd Pkt Len Mean'],
  ['Bwd Packet Length Std', 'Bwd Packet Length Std', 'Bwd Pkt Len Std'],
  ['Flow Bytes/s', 'Flow Bytes/s', 'Flow Byts/s'],
  ['Flow Packets/s', 'Flow Packets/s', 'Flow Pkts/s'],
  ['Fwd IAT Total', 'Fwd IAT Total', 'Fwd IAT Tot'],
  ['Bwd IAT Total', 'Bwd IAT Total', 'Bwd IAT Tot'],
  ['Fwd Header Length', 'Fwd Header Length', 'Fwd Header Len'],
  ['Bwd Header Length', 'Bwd Header Length', 'Bwd Header Len'],
  ['Fwd Packets/s', 'Fwd Packets/s', 'Fwd Pkts/s'],
  ['Bwd Packets/s', 'Bwd Packets/s', 'Bwd Pkts/s'],
  ['Min Packet Length', 'Packet Length Min', 'Pkt Len Min'],
  ['Max Packet Length', 'Packet Length Max', 'Pkt Len Max'],
  ['Packet Length Mean', 'Packet Length Mean', 'Pkt Len Mean'],
  ['Packet Length Std', 'Packet Length Std', 'Pkt Len Std'],
  ['Packet Length Variance', 'Packet Length Variance', 'Pkt Len Var'],
  ['FIN Flag Count', 'FIN Flag Count', 'FIN Flag Cnt'],
  ['SYN Flag Count', 'SYN Flag Count', 'SYN Flag Cnt'],
  ['RST Flag Count', 'RST Flag Count', 'RST Flag Cnt'],
  ['PSH Flag Count', 'PSH Flag Count', 'PSH Flag Cnt'],
  ['ACK Flag Count', 'ACK Flag Count', 'ACK Flag Cnt'],
  ['URG Flag Count', 'URG Flag Count', 'URG Flag Cnt'],
  ['CWE Flag Count', 'CWR Flag Count', 'CWE Flag Count'],
  ['ECE Flag Count', 'ECE Flag Count', 'ECE Flag Cnt'],
  ['Average Packet Size', 'Average Packet Size', 'Pkt Size Avg'],
  ['Avg Fwd Segment Size', 'Fwd Segment Size Avg', 'Fwd Seg Size Avg'],
  ['Avg Bwd Segment Size', 'Bwd Segment Size Avg', 'Bwd Seg Size Avg'],
  ['Fwd Avg Bytes/Bulk', 'Fwd Bytes/Bulk Avg', 'Fwd Byts/b Avg'],
  ['Fwd Avg Packets/Bulk', 'Fwd Packet/Bulk Avg', 'Fwd Pkts/b Avg'],
  ['Fwd Avg Bulk Rate', 'Fwd Bulk Rate Avg', 'Fwd Blk Rate Avg'],
  ['Bwd Avg Bytes/Bulk', 'Bwd Bytes/Bulk Avg', 'Bwd Byts/b Avg'],
  ['Bwd Avg Packets/Bulk', 'Bwd Packet/Bulk Avg', 'Bwd Pkts/b Avg'],
  ['Bwd Avg Bulk Rate', 'Bwd Bulk Rate Avg', 'Bwd Blk Rate Avg'],
  ['Subflow Fwd Packets', 'Subflow Fwd Packets', 'Subflow Fwd Pkts'],
  ['Subflow Fwd Bytes', 'Subflow Fwd Bytes', 'Subflow Fwd Byts'],
  ['Subflow Bwd Packets', 'Subflow Bwd Packets', 'Subflow Bwd Pkts'],
  ['Subflow Bwd Bytes', 'Subflow Bwd Bytes', 'Subflow Bwd Byts'],
  ['Init_Win_bytes_forward', 'FWD Init Win Bytes', 'Init Fwd Win Byts'],
  ['Init_Win_bytes_backward', 'Bwd Init Win Bytes', 'Init Bwd Win Byts'],
  ['act_data_pkt_fwd', 'Fwd Act Data Pkts', 'Fwd Act Data Pkts'],
  ['min_seg_size_forward', 'Fwd Seg Size Min', 'Fwd Seg Size Min'],
];

/** Columns of the improved CIC-IDS2017 release beyond CICFlowMeter's that flowsieve measures the same way. */
const EXTRA_SOURCES: readonly (readonly [string, string])[] = [
  ['Fwd RST Flags', 'src2dst_rst_packets'],
  ['Bwd RST Flags', 'dst2src_rst_packets'],
];

/**
 * CICFlowMeter-ecosystem columns flowsieve does not produce with the same meaning: the improved release's ICMP
 * Type/Code are −1 for non-ICMP flows (flowsieve: empty) and its Total TCP Flow Time spans a connection across
 * flow splits. A model reading them scores flowsieve flows with these features missing (classify warns).
 */
export const CIC_WITHOUT_SOURCE: ReadonlySet<string> = new Set(['ICMP Code', 'ICMP Type', 'Total TCP Flow Time']);

/**
 * Which default-dialect column feeds each column of any CICFlowMeter dialect (CIC-IDS2017, current CICFlowMeter,
 * CSE-CIC-IDS2018): models trained on those CSVs score flowsieve output and captures through it.
 */
export const CIC_SOURCE: ReadonlyMap<string, string> = new Map([
  ...CIC2017_SOURCE,
  ...DIALECT_NAMES.flatMap(([cic2017, current, cse2018]): [string, string][] => {
    const source = CIC2017_SOURCE.get(cic2017);
    if (source === undefined) throw new Error(`cic2017.ts: no source for ${cic2017}`);
    return [
      [current, source],
      [cse2018, source],
    ];
  }),
  ...EXTRA_SOURCES,
]);

/** Every name of one CICFlowMeter column across the dialects (CIC-IDS2017, current, CSE-CIC-IDS2018). */
const SYNONYMS: ReadonlyMap<string, readonly string[]> = new Map(
  DIALECT_NAMES.flatMap((names) => names.map((n): [string, readonly string[]] => [n, names.filter((m) => m !== n)])),
);

/** The other dialects' names of CIC column `name` (a model trained on one dialect reads a CSV of another). */
export function cicSynonyms(name: string): readonly string[] {
  return SYNONYMS.get(name) ?? [];
}
