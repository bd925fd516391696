import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeFrame, PacketView } from '../../src/decode/index.ts';
import type { FlowRow } from '../../src/features/meter.ts';
import { SshMeter } from '../../src/features/ssh.ts';
import { bytes, tcpFrame } from '../helpers/packets.ts';

const pv = new PacketView();
function at(frame: Uint8Array): PacketView {
  assert.equal(decodeFrame(pv, frame, 0, frame.length, frame.length, 1, 1), 'ok');
  return pv;
}

function run(port: number, segs: [string, 0 | 1, number][]): FlowRow {
  const C = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: port, flags: 'PA' };
  const S = { src: '10.0.0.2', dst: '10.0.0.1', sport: port, dport: 40000, flags: 'PA' };
  const m = new SshMeter();
  m.resize(2);
  m.onInit(1, at(tcpFrame({ ...C, flags: 'S' })));
  m.onUpdate(1, pv, 0);
  for (const [text, dir, seq] of segs)
    m.onUpdate(1, at(tcpFrame({ ...(dir === 0 ? C : S), seq, payload: bytes(text) })), dir);
  const row: FlowRow = {};
  m.onExpire(1, row);
  return row;
}

describe('SshMeter', () => {
  it('records client and server banners on any port', () => {
    const row = run(2222, [
      ['SSH-2.0-dropbear_2019.78\r\n', 1, 1],
      ['SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n', 0, 1],
      ['\x00\x00\x05\xdc\x06\x14', 0, 42],
    ]);
    assert.deepEqual(row.ssh, {
      client_banner: 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6',
      server_banner: 'SSH-2.0-dropbear_2019.78',
      client_software: 'OpenSSH_8.9p1',
      server_software: 'dropbear_2019.78',
      client_proto_version: '2.0',
      server_proto_version: '2.0',
      anomaly: '',
    });
  });

  it('collects a banner split over segments and server lines before it on port 22', () => {
    const row = run(22, [
      ['Authorised users only\r\nSSH-2.0-Op', 1, 1],
      ['enSSH_9.6\r\n', 1, 34],
      ['SSH-2.0-PuTTY_Release_0.80\r\n', 0, 1],
    ]);
    const ssh = row.ssh as Record<string, unknown>;
    assert.equal(ssh.server_software, 'OpenSSH_9.6');
    assert.equal(ssh.client_software, 'PuTTY_Release_0.80');
  });

  it('flags an over-long banner and ignores non-SSH flows', () => {
    const ssh = run(22, [[`SSH-2.0-${'x'.repeat(300)}\r\n`, 0, 1]]).ssh as Record<string, unknown>;
    assert.equal(ssh.anomaly, 'ssh_banner_too_long');
    assert.equal((ssh.client_banner as string).length, 253);
    assert.equal(run(443, [['\x16\x03\x01\x00\x05hello', 0, 1]]).ssh, undefined);
    // Text on a non-22 port from the server that is not a banner.
    assert.equal(run(8080, [['220 mail ESMTP\r\n', 1, 1]]).ssh, undefined);
  });

  it('property: any segmentation of the banners gives the same banners', () => {
    const client = 'SSH-2.0-OpenSSH_9.4\r\n\x00\x00\x01\x00';
    const server = 'Pre-banner note\r\nSSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n';
    const cuts = (t: string) => fc.uniqueArray(fc.integer({ min: 1, max: t.length - 1 }), { maxLength: 6 });
    fc.assert(
      fc.property(cuts(client), cuts(server), (cc, sc) => {
        const segments = (text: string, at: number[], dir: 0 | 1): [string, 0 | 1, number][] => {
          const b = [0, ...[...at].sort((x, y) => x - y), text.length];
          return b.slice(1).map((end, i) => [text.slice(b[i]!, end), dir, 1 + b[i]!]);
        };
        const ssh = run(22, [...segments(server, sc, 1), ...segments(client, cc, 0)]).ssh as Record<string, unknown>;
        assert.equal(ssh.client_software, 'OpenSSH_9.4');
        assert.equal(ssh.server_banner, 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6');
      }),
      { numRuns: 300 },
    );
  });

  it('declares every column it writes', () => {
    const ssh = run(22, [['SSH-2.0-a\r\n', 0, 1]]).ssh as object;
    assert.deepEqual(Object.keys(ssh).sort(), SshMeter.columns.map((c) => c.key).sort());
  });
});
