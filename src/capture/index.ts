/** Capture layer public API: byte sources (pcap/pcapng, optionally gzip/zstd) to raw packet records. */
export { listInputs } from './inputs.ts';
export { MAX_BLOCK_BYTES, MAX_CAPLEN_BYTES } from './parser.ts';
export { endStdinCapture, readCapture, readCaptureStream, WARNINGS_PER_CODE, WINDOW_BYTES } from './read.ts';
export {
  CAPTURE_WARNING_CODES,
  CaptureError,
  type CaptureSummary,
  type CaptureWarning,
  DROP_CODES,
  type PacketCallback,
  type ReadOptions,
} from './types.ts';
