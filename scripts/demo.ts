/**
 * `npm run demo`: the main job end to end on a capture our own code generates — make demo/sample.pcap, extract
 * flows (Parquet and CSV), classify them with the bundled model, and write the HTML report. Each step is the
 * real CLI, printed before it runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

const steps: string[][] = [
  ['node', '--import', 'tsx', 'scripts/make-sample.ts', 'demo/sample.pcap'],
  ['node', 'bin/flowsieve.js', 'extract', 'demo/sample.pcap', '-o', 'demo/flows.parquet', '--stats', 'demo/stats.json'],
  ['node', 'bin/flowsieve.js', 'extract', 'demo/sample.pcap', '-o', 'demo/flows.csv', '--quiet'],
  ['node', 'bin/flowsieve.js', 'classify', 'demo/sample.pcap', '-o', 'demo/classified.jsonl', '--top', '10'],
  ['node', 'bin/flowsieve.js', 'report', 'demo/classified.jsonl', 'demo/stats.json', '-o', 'demo/report.html'],
];

mkdirSync('demo', { recursive: true });
for (const step of steps) {
  process.stderr.write(`\n$ ${step.join(' ')}\n`);
  const r = spawnSync(step[0]!, step.slice(1), { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`demo: step failed with exit code ${r.status}\n`);
    process.exit(r.status ?? 1);
  }
}
process.stderr.write(
  '\nDone: open demo/report.html in a browser; the flows are in demo/flows.parquet and demo/flows.csv.\n',
);
