/**
 * SSH identification strings of a flow (RFC 4253 §4.2; parser in src/proto/ssh.ts): the client's and the
 * server's banner (`SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6`) and their software version part.
 *
 * Client = src (the flow's initiator), server = dst. Any TCP port: a direction is examined when its first
 * payload-carrying segment starts with `SSH-`, or — for the server side only, which may send other lines first —
 * when it is printable text and the flow has port 22. A banner split over segments is collected in a bounded
 * buffer (512 bytes: 255 for the line plus room for pre-banner lines) in TCP order. Every direction is done after
 * its banner or its first non-SSH segment, so later packets cost one comparison.
 */
import type { PacketView } from '../decode/packet.ts';
import { parseSshBanner, type SshBanner, startsLikeSsh } from '../proto/ssh.ts';
import { SegmentBuffers } from './http.ts';
import type { ColumnSpec, FlowRow, Meter } from './meter.ts';
import { grow } from './meter.ts';

const WAITING = 0;
const BUFFERING = 1;
const DONE = 2;
const BUFFER_BYTES = 512;
const SSH_PORT = 22;

const col = (key: string, doc: string): ColumnSpec => ({ key, group: 'ssh', type: 'string', unit: '', doc });

export class SshMeter implements Meter {
  static readonly columns: readonly ColumnSpec[] = [
    col('client_banner', 'Identification string sent by src (the client), without CR LF; null when none was seen.'),
    col('server_banner', 'Identification string sent by dst (the server), without CR LF; null when none was seen.'),
    col('client_software', 'Software version of the client banner (`OpenSSH_8.9p1`).'),
    col('server_software', 'Software version of the server banner.'),
    col('client_proto_version', 'Protocol version of the client banner (`2.0`, `1.99`).'),
    col('server_proto_version', 'Protocol version of the server banner.'),
    col('anomaly', "First banner anomaly (ssh_banner_too_long, ssh_bad_banner, ssh_incomplete); '' when none."),
  ];
  readonly name = 'ssh';
  /** Reads payload only; flows without any get no columns (src/features/meter.ts, "Lazy meters"). */
  readonly skipsEmptyPackets = true;
  readonly payloadOnly = true;
  readonly lazyInit = true;
  readonly protocols = [6] as const;
  readonly columns = SshMeter.columns;
  private readonly segments = new SegmentBuffers(BUFFER_BYTES);
  private state = new Uint8Array(0);
  private banners: (SshBanner | null)[] = [];
  private port22 = new Uint8Array(0);

  resize(capacity: number): void {
    this.state = grow(this.state, capacity * 2);
    this.port22 = grow(this.port22, capacity);
    this.segments.resize(capacity);
    while (this.banners.length < capacity * 2) this.banners.push(null);
  }

  /** SSH runs over TCP only: other flows need no packets (returns false). */
  onInit(slot: number, pkt: PacketView): boolean {
    const s = pkt.protocol === 6 ? WAITING : DONE;
    this.state[slot * 2] = s;
    this.state[slot * 2 + 1] = s;
    this.port22[slot] = pkt.srcPort === SSH_PORT || pkt.dstPort === SSH_PORT ? 1 : 0;
    this.banners[slot * 2] = null;
    this.banners[slot * 2 + 1] = null;
    this.segments.clear(slot, 0);
    this.segments.clear(slot, 1);
    return s !== DONE;
  }

  /** Returns false once both directions are done (banner read, or not SSH). */
  onUpdate(slot: number, pkt: PacketView, dir: 0 | 1): boolean {
    this.update(slot, pkt, dir);
    return this.state[slot * 2] !== DONE || this.state[slot * 2 + 1] !== DONE;
  }

  private update(slot: number, pkt: PacketView, dir: 0 | 1): void {
    const i = slot * 2 + dir;
    const st = this.state[i]!;
    // A later IP fragment has no TCP header of its own (pkt.tcpSeq is not its position): skip it.
    if (st === DONE || pkt.payloadLen === 0 || pkt.fragOffset > 0) return;
    if (st === WAITING) {
      const start = pkt.payloadOffset;
      const end = start + pkt.payloadLen;
      if (!startsLikeSsh(pkt.buf, start, end) && !(dir === 1 && this.port22[slot] === 1)) {
        this.state[i] = DONE;
        return;
      }
      const b = parseSshBanner(pkt.buf, start, end);
      if (b.status === 'incomplete') {
        this.segments.append(slot, dir, pkt);
        this.state[i] = BUFFERING;
        return;
      }
      this.finish(slot, dir, b);
      return;
    }
    const r = this.segments.append(slot, dir, pkt);
    if (r === 'duplicate') return;
    const view = this.segments.view(slot, dir);
    const b = parseSshBanner(view, 0, view.length);
    if (b.status === 'incomplete' && r === 'ok') return;
    this.finish(slot, dir, b);
  }

  private finish(slot: number, dir: 0 | 1, b: SshBanner): void {
    this.state[slot * 2 + dir] = DONE;
    this.segments.clear(slot, dir);
    // Text that never produced a banner line (not SSH after all) is not recorded.
    if (b.banner !== '' || b.anomaly === 'ssh_banner_too_long') this.banners[slot * 2 + dir] = b;
  }

  onExpire(slot: number, row: FlowRow): void {
    const c = this.banners[slot * 2] ?? null;
    const s = this.banners[slot * 2 + 1] ?? null;
    this.banners[slot * 2] = null;
    this.banners[slot * 2 + 1] = null;
    this.segments.clear(slot, 0);
    this.segments.clear(slot, 1);
    if (c === null && s === null) return;
    row.ssh = {
      client_banner: c?.banner ?? null,
      server_banner: s?.banner ?? null,
      client_software: c?.softwareVersion ?? null,
      server_software: s?.softwareVersion ?? null,
      client_proto_version: c?.protoVersion ?? null,
      server_proto_version: s?.protoVersion ?? null,
      anomaly: c?.anomaly || s?.anomaly || '',
    };
  }
}
