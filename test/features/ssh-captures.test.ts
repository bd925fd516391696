/**
 * Reference check over real captures in ../shared: client and server banners of every SSH flow equal tshark's
 * `ssh.protocol` for each direction (tshark runs here, at test time; skips when it or ../shared is absent).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FlowRow } from '../../src/features/meter.ts';
import { SshMeter } from '../../src/features/ssh.ts';
import { runExtract } from '../../src/pipeline.ts';
import { HAS_SHARED, hasTshark, sharedPath, tsharkFields } from '../helpers/shared.ts';

const SKIP = !HAS_SHARED || !hasTshark();

const CAPTURES = [
  'pcaps/cisco-joy/ssh-dropbear-default.pcap',
  'pcaps/cisco-joy/ssh-gex-sha256.pcap',
  'pcaps/cisco-joy/kali-normal-ssh.pcap',
  'pcaps/cisco-mercury/ssh_frag.pcap',
  'pcaps/cisco-mercury/ssh_direction_asym.pcap',
  'pcaps/foxio-ja4/ssh.pcapng',
  'pcaps/foxio-ja4/ssh2.pcapng',
  'pcaps/foxio-ja4/sshv1.pcap',
  'pcaps/foxio-ja4/ssh2-malformed.pcap',
];

/** "srcip|sport>dstip|dport" → banner sent in that direction, from tshark. */
function tsharkBanners(file: string): Map<string, string> {
  const rows = tsharkFields(file, 'ssh.protocol', [
    'ip.src',
    'ipv6.src',
    'ip.dst',
    'ipv6.dst',
    'tcp.srcport',
    'tcp.dstport',
    'ssh.protocol',
  ]);
  const m = new Map<string, string>();
  for (const row of rows) {
    const [s4, s6, d4, d6, sp, dp, banner] = row;
    const k = `${s4 || s6}|${sp}>${d4 || d6}|${dp}`;
    if (!m.has(k)) m.set(k, banner!);
  }
  return m;
}

describe('SSH meter against tshark on real captures', { skip: SKIP }, () => {
  for (const rel of CAPTURES) {
    it(rel, async (t) => {
      const file = sharedPath(rel);
      const rows: FlowRow[] = [];
      await runExtract({ inputs: [file], meters: [new SshMeter()], onFlow: (r) => rows.push(r) });
      const want = tsharkBanners(file);
      const got = new Map<string, string>();
      for (const r of rows) {
        const ssh = r.ssh as { client_banner: string | null; server_banner: string | null } | undefined;
        if (!ssh) continue;
        const fwd = `${r.src_ip}|${r.src_port}>${r.dst_ip}|${r.dst_port}`;
        const bwd = `${r.dst_ip}|${r.dst_port}>${r.src_ip}|${r.src_port}`;
        if (ssh.client_banner !== null) got.set(fwd, ssh.client_banner);
        if (ssh.server_banner !== null) got.set(bwd, ssh.server_banner);
      }
      assert.deepEqual(Object.fromEntries([...got].sort()), Object.fromEntries([...want].sort()));
      t.diagnostic(`${want.size} banners compared`);
    });
  }
});
