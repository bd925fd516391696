/**
 * Where the package lives, and its version. Modules run from two layouts — the TypeScript sources (src/**, through
 * tsx) and the bundle `npm run build` writes (dist/**) — at different depths, so paths are found from the package
 * root (the nearest directory above this module holding package.json), never by counting `..`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(start: string): string {
  let dir = dirname(start);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`flowsieve: no package.json above ${start}`);
    dir = up;
  }
}

export const PACKAGE_ROOT = findRoot(fileURLToPath(import.meta.url));

export const PACKAGE_VERSION = (
  JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }
).version;

/** A file of the package, e.g. packagePath('models', 'default.json'). */
export function packagePath(...parts: string[]): string {
  return join(PACKAGE_ROOT, ...parts);
}
