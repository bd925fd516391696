/**
 * The flowsieve command line. Every command is registered from its own module; errors the user can act on are
 * one line on stderr with exit code 2, never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CaptureError } from '../capture/index.ts';
import { OutputError } from '../output/index.ts';
import { register as registerClassify } from './classify.ts';
import { EXIT_USAGE, paint, UserError } from './common.ts';
import { register as registerEvaluate } from './evaluate.ts';
import { register as registerExtract } from './extract.ts';
import { register as registerReport } from './report.ts';
import { register as registerTrain } from './train.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('flowsieve')
    .description(
      'Packet captures → flow records with encrypted-traffic features, and tree models that rank the riskiest flows',
    )
    .version(pkg.version, '-V, --version')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  registerExtract(program);
  registerTrain(program);
  registerEvaluate(program);
  registerClassify(program);
  registerReport(program);
  for (const c of program.commands) c.exitOverride().showHelpAfterError('(add --help for usage)');
  program.addHelpText(
    'after',
    `
Examples:
  $ flowsieve extract capture.pcap -o flows.parquet
  $ tcpdump -i eth0 -w - | flowsieve extract - -o -
  $ flowsieve train flows_cic/*.csv -o model.json --cv 5
  $ flowsieve classify capture.pcap -o scored.jsonl --min-score 0.5
  $ flowsieve report scored.jsonl -o report.html`,
  );
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; unknown options/commands have already been reported with a hint.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (e instanceof UserError || e instanceof CaptureError || e instanceof OutputError) {
      process.stderr.write(`${paint(31, 'flowsieve: error:')} ${e.message}\n`);
      return e instanceof UserError ? e.exitCode : EXIT_USAGE;
    }
    const err = e as Error;
    process.stderr.write(`${paint(31, 'flowsieve: internal error:')} ${err?.message ?? String(e)}\n`);
    if (process.env.FLOWSIEVE_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
    return 70;
  }
}
