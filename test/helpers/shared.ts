/** Paths to the third-party data in ../shared (beside the project root). Tests read it there; nothing is copied. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');
export const SHARED = path.resolve(PROJECT_ROOT, '../shared');
export const HAS_SHARED = existsSync(path.join(SHARED, 'pcaps'));

export function sharedPath(...parts: string[]): string {
  return path.join(SHARED, ...parts);
}

/** Whether tshark is installed (reference checks that run it at test time skip without it). */
export function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Rows of `tshark -r FILE -Y FILTER -T fields -e F...` (first occurrence of each field, tab separated), for
 * reference checks that run tshark at test time.
 */
export function tsharkFields(file: string, filter: string, fields: readonly string[]): string[][] {
  const args = ['-n', '-r', file, '-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=f'];
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t'));
}
