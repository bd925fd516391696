/**
 * Fuzz targets shared by bench/fuzz.ts (long runs) and test/robustness/fuzz-slice.test.ts (the CI slice):
 * - `runPipelineOnBytes`: a capture held in memory, streamed in random-size chunks through readCaptureStream into
 *   the real FlowPipeline with every meter (Markov included), with the accounting invariant checked;
 * - `PARSER_TARGETS`: each src/proto entry point (and decodeFrame per link type) called directly on bytes, with
 *   valid seed messages built by code to mutate from.
 * A target throws only when the code under test misbehaves (an exception escaping a parser, or an accounting
 * violation reported as AccountingError); malformed input itself must never throw.
 */
import { writeFileSync } from 'node:fs';
import { CaptureError, type CaptureSummary, readCaptureStream } from '../../src/capture/index.ts';
import { decodeFrame, LinkType, PacketView } from '../../src/decode/index.ts';
import { defaultMeters } from '../../src/features/index.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import type { FlowTableOptions } from '../../src/flow/table.ts';
import { type ExtractStats, FlowPipeline, runExtract } from '../../src/pipeline.ts';
import { parseDns, parseDnsTcp } from '../../src/proto/dns.ts';
import { detectHttp, parseHttpHead } from '../../src/proto/http.ts';
import { looksLikeQuicInitial, parseLongHeader, QuicInitialSession } from '../../src/proto/quic.ts';
import { ByteReader } from '../../src/proto/reader.ts';
import { parseSshBanner, startsLikeSsh } from '../../src/proto/ssh.ts';
import {
  clientKeyExchangeBits,
  looksLikeClientHello,
  looksLikeTls,
  parseCertificateList,
  parseClientHello,
  parseServerHello,
  parseSslv2ClientHello,
  proxyProtocolLength,
  serverKeyExchangeBits,
  TlsSession,
} from '../../src/proto/tls.ts';
import { parseCertificateUncached } from '../../src/proto/x509.ts';
import {
  ascii,
  buildCertificate,
  buildInitial,
  certificateBody,
  clientHelloBody,
  concat,
  cryptoFrame,
  ext,
  extAlpn,
  extGroups,
  extKeyShare,
  extSigAlgs,
  extSni,
  extVersions,
  handshake,
  record,
  records,
  serverHelloBody,
  u16,
} from '../helpers/tls-builder.ts';
import type { Rng } from './mutate.ts';

/** packets_read ≠ packets_in_flows + Σ dropped: a packet went missing (or was counted twice). */
export class AccountingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AccountingError';
  }
}

export interface PipelineRun {
  stats: ExtractStats;
  summary: CaptureSummary | null;
  /** File-level CaptureError code (not a crash: the input is not a capture at all). */
  fileError: string;
}

/**
 * A capture stream through the whole pipeline, the way runExtract drives one file, with the accounting invariant
 * checked (AccountingError). `flow` overrides the flow table options (e.g. a small maxFlows).
 */
export async function runPipelineOnStream(
  chunks: AsyncIterable<Uint8Array>,
  name: string,
  opts: { flow?: Partial<FlowTableOptions>; onFlow?: (row: FlowRow) => void; markov?: boolean } = {},
): Promise<PipelineRun> {
  const pipeline = new FlowPipeline({
    meters: defaultMeters({ markov: opts.markov ?? true }),
    flow: opts.flow,
    onFlow: opts.onFlow ?? (() => {}),
    sourceFileColumn: false,
  });
  const stats = pipeline.stats;
  pipeline.startFile(name);
  let summary: CaptureSummary | null = null;
  let fileError = '';
  try {
    summary = await readCaptureStream(chunks, name, pipeline.packet);
  } catch (e) {
    if (!(e instanceof CaptureError)) throw e;
    fileError = e.code;
  } finally {
    pipeline.endFile();
  }
  pipeline.finish();
  const decodeDropped = Object.values(stats.dropped).reduce((a, b) => a + b, 0);
  if (stats.packets_read !== stats.packets_in_flows + decodeDropped)
    throw new AccountingError(
      `packets delivered ${stats.packets_read} ≠ in flows ${stats.packets_in_flows} + dropped ${decodeDropped}`,
    );
  if (summary) {
    if (summary.packetsDelivered !== stats.packets_read)
      throw new AccountingError(
        `capture delivered ${summary.packetsDelivered} packets but the pipeline saw ${stats.packets_read}`,
      );
    for (const [k, n] of Object.entries(summary.dropped)) {
      stats.dropped[k] = (stats.dropped[k] ?? 0) + n;
      stats.packets_read += n;
    }
    stats.bytes_read += summary.bytesRead;
  }
  return { stats, summary, fileError };
}

/**
 * One capture in memory through the whole pipeline, fed in chunks of random size (1 B to 64 KiB when `rng` is
 * given) so record boundaries fall everywhere across reads.
 */
export async function runPipelineOnBytes(bytes: Uint8Array, name = 'fuzz.pcap', rng?: Rng): Promise<PipelineRun> {
  const chunks = async function* (): AsyncGenerator<Uint8Array> {
    if (!rng) {
      yield bytes;
      return;
    }
    for (let off = 0; off < bytes.length; ) {
      const n = 1 + rng.int(rng.next() < 0.2 ? 64 : 65536);
      yield bytes.subarray(off, off + n);
      off += n;
    }
  };
  return runPipelineOnStream(chunks(), name);
}

/**
 * The same through the file path (runExtract → readCapture's windowed file reader, which parses in place rather
 * than copying stream chunks): `bytes` is written to `file` first.
 */
export async function runExtractOnFile(bytes: Uint8Array, file: string): Promise<ExtractStats> {
  writeFileSync(file, bytes);
  const stats = await runExtract({ inputs: [file], meters: defaultMeters({ markov: true }), onFlow: () => {} });
  const dropped = Object.values(stats.dropped).reduce((a, b) => a + b, 0);
  if (stats.packets_read !== stats.packets_in_flows + dropped)
    throw new AccountingError(
      `packets_read ${stats.packets_read} ≠ in flows ${stats.packets_in_flows} + dropped ${dropped}`,
    );
  return stats;
}

// ---- direct parser targets --------------------------------------------------------------------------------------

export interface ParserTarget {
  name: string;
  /** Valid (or realistic) inputs to mutate from. */
  seeds: () => Uint8Array[];
  /** Runs the parser entry points on the bytes; throws only on a bug. */
  run: (buf: Uint8Array, rng: Rng) => void;
}

function dnsName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split('.')) out.push(label.length, ...ascii(label));
  out.push(0);
  return out;
}

/** A DNS response (RFC 1035 §4.1): one question, an A answer via a compression pointer, a CNAME. */
function dnsResponse(): Uint8Array {
  return concat(
    [0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0],
    dnsName('www.example.com'),
    [0, 1, 0, 1],
    [0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 6],
    [3, ...ascii('cdn'), 0xc0, 16],
    [0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34],
  );
}

function clientHelloRecord(): Uint8Array {
  return record(
    22,
    handshake(
      1,
      clientHelloBody({
        ciphers: [0x0a0a, 0x1301, 0x1302, 0xc02b, 0xc02f],
        extensions: [
          extSni('fuzz.example.com'),
          extAlpn(['h2', 'http/1.1']),
          extGroups([0x001d, 0x0017]),
          extSigAlgs([0x0403, 0x0804]),
          extVersions([0x0304, 0x0303]),
          extKeyShare([0x001d]),
          ext(0xff01, [0]),
        ],
      }),
    ),
  );
}

function serverFlight(): Uint8Array {
  const cert = buildCertificate({ san: ['fuzz.example.com', '*.example.com'] });
  return concat(
    record(22, handshake(2, serverHelloBody({ extensions: [ext(0xff01, [0])] })), 0x0303),
    records(22, handshake(11, certificateBody([cert, buildCertificate({ ecP256: true })]))),
    record(22, handshake(14, new Uint8Array(0)), 0x0303),
  );
}

function quicInitial(): Uint8Array {
  const hello = handshake(1, clientHelloBody({ extensions: [extSni('quic.example'), extAlpn(['h3'])] }));
  return buildInitial({
    dcid: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]),
    scid: new Uint8Array([9, 9, 9, 9]),
    frames: cryptoFrame(0, hello),
    padTo: 1162,
  });
}

/** Feeds `buf` to a TLS session as TCP segments of random size (both directions alternate when `both`). */
function tlsStream(buf: Uint8Array, rng: Rng, both: boolean): void {
  const s = new TlsSession();
  const seq = [rng.u32(), rng.u32()];
  for (let off = 0; off < buf.length; ) {
    const n = 1 + rng.int(1500);
    const d = both ? rng.int(2) : 0;
    // Mostly in order; now and then a retransmission or a gap, which reassembly must survive.
    const r = rng.next();
    const at = r < 0.05 ? (seq[d]! - rng.int(3000)) >>> 0 : r < 0.08 ? (seq[d]! + rng.int(3000)) >>> 0 : seq[d]!;
    const len = Math.min(n, buf.length - off);
    s.dirs[d as 0 | 1].segment(buf, off, len, at, false);
    seq[d] = (seq[d]! + len) >>> 0;
    off += len;
  }
  s.dirs[0].flush();
  s.dirs[1].flush();
}

const FRAME_LINK_TYPES = Object.values(LinkType);

export const PARSER_TARGETS: ParserTarget[] = [
  {
    name: 'dns',
    seeds: () => [dnsResponse(), concat(u16(dnsResponse().length), dnsResponse())],
    run: (buf) => {
      parseDns(buf);
      parseDns(buf, 0, buf.length, { maxQuestions: 64, maxAnswers: 1024 });
      parseDnsTcp(buf);
    },
  },
  {
    name: 'http',
    seeds: () => [
      ascii('GET /index.html?q=1 HTTP/1.1\r\nHost: fuzz.example\r\nUser-Agent: x\r\nCookie: a=b\r\n\r\n'),
      ascii('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\nServer: nginx\r\n\r\nhello'),
      ascii('POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n folded: line\r\n\r\n'),
    ],
    run: (buf) => {
      detectHttp(buf, 0, buf.length);
      parseHttpHead(buf);
      parseHttpHead(buf, 0, buf.length, { maxLineLength: 64, maxHeaders: 4, maxValueLength: 8 });
    },
  },
  {
    name: 'ssh',
    seeds: () => [
      ascii('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n'),
      ascii('Welcome\r\nSSH-1.99-Cisco-1.25\n'),
      ascii('SSH-2.0-libssh_0.9.6 comment here\r\n\0\0\0\x14\x0a'),
    ],
    run: (buf) => {
      startsLikeSsh(buf, 0, buf.length);
      parseSshBanner(buf);
    },
  },
  {
    name: 'tls_messages',
    seeds: () => [
      handshake(1, clientHelloBody({ extensions: [extSni('a.example'), extAlpn(['h2'])] })).subarray(4),
      serverHelloBody({ extensions: [ext(43, u16(0x0304)), ext(16, [0, 3, 2, 0x68, 0x32])] }),
      certificateBody([buildCertificate()]),
      concat([0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10], new Uint8Array(21 + 16).fill(1)),
    ],
    run: (buf) => {
      parseClientHello(new ByteReader(buf));
      parseClientHello(new ByteReader(buf), true);
      parseServerHello(new ByteReader(buf));
      parseCertificateList(new ByteReader(buf));
      parseCertificateList(new ByteReader(buf), true);
      parseSslv2ClientHello(new ByteReader(buf));
      clientKeyExchangeBits(new ByteReader(buf));
      serverKeyExchangeBits(new ByteReader(buf));
      looksLikeTls(buf, 0, buf.length);
      looksLikeClientHello(buf, 0, buf.length);
      proxyProtocolLength(buf, 0, buf.length);
    },
  },
  {
    name: 'tls_stream',
    seeds: () => [clientHelloRecord(), concat(clientHelloRecord(), serverFlight()), serverFlight()],
    run: (buf, rng) => {
      tlsStream(buf, rng, false);
      tlsStream(buf, rng, true);
    },
  },
  {
    name: 'x509',
    seeds: () => [
      buildCertificate({ san: ['a.example', 'b.example'] }),
      buildCertificate({ ecP256: true, subject: { CN: 'x', O: 'y', C: 'ZZ' } }),
    ],
    run: (buf) => {
      parseCertificateUncached(buf);
      parseCertificateUncached(buf, 1_700_000_000_000_000);
    },
  },
  {
    name: 'quic',
    seeds: () => [quicInitial()],
    run: (buf) => {
      looksLikeQuicInitial(buf, 0, buf.length);
      parseLongHeader(buf, 0, buf.length);
      const s = new QuicInitialSession();
      s.clientDatagram(buf, 0, buf.length);
      s.clientDatagram(buf, 0, buf.length);
    },
  },
  {
    name: 'decode_frame',
    seeds: () => [
      // Ethernet / VLAN / IPv4 / UDP 4789 / VXLAN / Ethernet / IPv6 / TCP: many layers to corrupt.
      concat(
        [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x81, 0, 0, 5, 0x08, 0],
        [0x45, 0, 0, 110, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2],
        [0x30, 0x39, 0x12, 0xb5, 0, 90, 0, 0],
        [8, 0, 0, 0, 0, 0, 1, 0],
        [2, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 3, 0x86, 0xdd],
        [0x60, 0, 0, 0, 0, 20, 6, 64],
        new Uint8Array(15),
        [1],
        new Uint8Array(15),
        [2],
        [0x01, 0xbb, 0xc3, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0],
      ),
    ],
    run: (buf, rng) => {
      const view = new PacketView();
      const lt = rng.pick(FRAME_LINK_TYPES);
      decodeFrame(view, buf, 0, buf.length, buf.length + rng.int(64), 1_700_000_000_000_000, lt);
      decodeFrame(view, buf, 0, buf.length, buf.length, 1_700_000_000_000_000, LinkType.ethernet);
    },
  },
];

export function targetByName(name: string): ParserTarget | undefined {
  return PARSER_TARGETS.find((t) => t.name === name);
}
