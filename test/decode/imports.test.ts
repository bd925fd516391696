/** Layering policy for src/decode: it imports no npm package and no other src layer (only its own modules). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../helpers/shared.ts';

test('src/decode imports only its own files', () => {
  const dir = path.join(PROJECT_ROOT, 'src', 'decode');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length >= 5);
  for (const file of files) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*from\s+['"]([^'"]+)['"]/gm)) {
      assert.match(m[1]!, /^\.\/[a-z0-9]+\.ts$/, `${file} imports ${m[1]}`);
    }
  }
});
