/**
 * Expanding command-line inputs into capture files.
 *
 * Directories are walked recursively; entries are visited in code-unit order of their names (like `LC_ALL=C
 * sort`), so the result is stable across runs and machines. Inside directories only files whose first bytes are a
 * capture or compression magic are kept (names are ignored: `.cap`, `.out` and extension-less captures exist);
 * a gzip file is also sniffed inside (its first decompressed bytes must be pcap/pcapng), so `logs.json.gz` is
 * skipped. Paths named explicitly are kept as given, even when they are not captures: readCapture then reports
 * `not_a_capture` for them, which is more useful than silently skipping what the user asked for. '-' (stdin) is
 * kept as is. Symbolic links are followed; a directory reached twice (a link cycle) is walked once.
 */
import type { Dirent } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { sniffMagic } from './magic.ts';
import { CaptureError } from './types.ts';

const SNIFF_BYTES = 4096;

/** Expands paths (files, directories, '-') into the list of captures to read, in a stable order. */
export async function listInputs(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  const seenDirs = new Set<string>();
  for (const p of paths) {
    if (p === '-') {
      out.push(p);
      continue;
    }
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(p);
    } catch (e) {
      const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
      if (code === 'ENOENT' || code === 'ENOTDIR')
        throw new CaptureError('not_found', p, 0, `${p}: no such file or directory`);
      throw new CaptureError('unreadable', p, 0, `${p}: cannot read (${code})`);
    }
    if (st.isDirectory()) await walk(p, out, seenDirs);
    else out.push(p);
  }
  return out;
}

async function walk(dir: string, out: string[], seenDirs: Set<string>): Promise<void> {
  let real: string;
  let entries: Dirent[];
  try {
    real = await realpath(dir);
    if (seenDirs.has(real)) return;
    seenDirs.add(real);
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
    throw new CaptureError('unreadable', dir, 0, `${dir}: cannot list directory (${code})`);
  }
  const names = entries.map((e) => e.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const full = path.join(dir, name);
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(full);
    } catch {
      continue; // dangling link or vanished entry: not a capture we can read
    }
    if (st.isDirectory()) await walk(full, out, seenDirs);
    else if (st.isFile() && (await looksLikeCapture(full))) out.push(full);
  }
}

/** True when the file starts with a pcap/pcapng/zstd magic, or is gzip whose first decoded bytes are pcap/pcapng. */
export async function looksLikeCapture(file: string): Promise<boolean> {
  let head: Uint8Array;
  try {
    const fh = await open(file, 'r');
    try {
      const buf = new Uint8Array(SNIFF_BYTES);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
  const magic = sniffMagic(head);
  if (magic !== 'gzip') return magic !== undefined;
  try {
    // Z_SYNC_FLUSH decodes what the first bytes hold without requiring the end of the stream.
    const inner = gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH });
    if (inner.length < 4) return true; // cannot tell from so few bytes: let readCapture decide
    const m = sniffMagic(inner);
    return m === 'pcap' || m === 'pcapng';
  } catch {
    return false;
  }
}
