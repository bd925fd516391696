/**
 * Public types of the capture layer: byte sources (pcap, pcapng, optionally gzip/zstd compressed) to raw packet
 * records. Nothing here decodes a packet; src/decode does that from the (buffer, offset, length) the callback gets.
 */

/**
 * Called synchronously for every packet record delivered. `buf` is the reader's window and is reused/overwritten
 * after the call returns: a consumer that needs bytes later must copy them. `capLen <= wireLen` always holds
 * (a record claiming a wire length below its captured length is delivered with wireLen = capLen, see
 * `capture_wirelen_below_caplen`). `tsUs` is integral microseconds since the Unix epoch (rounded down).
 * An exception thrown by the callback aborts the read and propagates unchanged.
 */
export type PacketCallback = (
  buf: Uint8Array,
  offset: number,
  capLen: number,
  wireLen: number,
  tsUs: number,
  linkType: number,
) => void;

/** One anomaly inside a readable capture; `message` is one line and includes the byte offset. */
export interface CaptureWarning {
  file: string;
  /** Byte offset of the anomaly in the capture stream (the decompressed stream when the input is gzip/zstd). */
  offset: number;
  /** Stable code `capture_<what>`, one of CAPTURE_WARNING_CODES. */
  code: string;
  message: string;
}

export interface CaptureSummary {
  file: string;
  format: 'pcap' | 'pcapng';
  compression: 'none' | 'gzip' | 'zstd';
  /** Callback invocations. */
  packetsDelivered: number;
  /** Packet records seen but not delivered, by code (see DROP_CODES). packets_read = delivered + sum(dropped). */
  dropped: Record<string, number>;
  /** Bytes of the (compressed) input consumed. */
  bytesRead: number;
  /** Distinct link types seen on delivered packets, in order of first appearance. */
  linkTypes: number[];
  /**
   * Every warning raised, by code, including those not passed to onWarning because the per-code limit
   * (WARNINGS_PER_CODE) was reached. Added beside the agreed fields; nothing depends on it.
   */
  warnings: Record<string, number>;
}

export interface ReadOptions {
  onWarning?: (w: CaptureWarning) => void;
  onProgress?: (bytesRead: number, totalBytes: number | undefined) => void;
}

/**
 * File-level failure: the input cannot be read as a capture at all. Codes: not_found, unreadable, empty,
 * not_a_capture, truncated_header, bad_header, decompress_failed. The message is one line naming the file.
 */
export class CaptureError extends Error {
  readonly code: string;
  readonly file: string;
  readonly offset: number;

  constructor(code: string, file: string, offset: number, message: string) {
    super(message);
    this.name = 'CaptureError';
    this.code = code;
    this.file = file;
    this.offset = offset;
  }
}

/** Codes counted in CaptureSummary.dropped: each is one packet record that was seen but not delivered. */
export const DROP_CODES = [
  /** The last record of the stream is cut short (partial header or partial data). */
  'capture_truncated_record',
  /** caplen above MAX_CAPLEN_BYTES (pcap record or pcapng packet block): the record is not trusted. */
  'capture_caplen_too_big',
  /** pcapng packet block whose length fields are inconsistent (caplen beyond the block, bad trailer...). */
  'capture_bad_block',
  /** pcapng packet on an interface id with no Interface Description Block in the section. */
  'capture_unknown_interface',
  /** pcapng packet block inside a section whose SHB major version is not 1 (the section is not parsed). */
  'capture_unsupported_section',
] as const;

/** Warning codes (a superset of DROP_CODES). */
export const CAPTURE_WARNING_CODES = [
  ...DROP_CODES,
  'capture_caplen_over_snaplen',
  'capture_wirelen_below_caplen',
  'capture_resync',
  'capture_truncated_block',
  'capture_bad_option',
  'capture_unusual_version',
  'capture_trailing_bytes',
  'capture_truncated_gzip',
  'capture_corrupt_gzip',
  'capture_truncated_zstd',
  'capture_corrupt_zstd',
  'capture_read_error',
] as const;
