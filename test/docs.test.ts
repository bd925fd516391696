/** docs/features.md is generated from the columns the code declares; this fails when it is stale (run `npm run docs`). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { featuresMarkdown } from '../scripts/gen-docs.ts';

test('docs/features.md documents exactly the columns the code produces', () => {
  const onDisk = readFileSync(new URL('../docs/features.md', import.meta.url), 'utf8');
  assert.equal(onDisk, featuresMarkdown(), 'docs/features.md is stale: run `npm run docs`');
});
