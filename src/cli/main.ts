/**
 * The flowsieve command line. Every command is registered from its own module; errors the user can act on are
 * one line on stderr with exit code 2, never a stack trace.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import * as z from 'zod';
import { CaptureError, endStdinCapture } from '../capture/index.ts';
import { OutputError, removeTemporaryOutputs } from '../output/index.ts';
import { PACKAGE_VERSION } from '../util/package.ts';
import { register as registerClassify } from './classify.ts';
import { EXIT_USAGE, paint, UserError } from './common.ts';
import { register as registerEvaluate } from './evaluate.ts';
import { register as registerExtract } from './extract.ts';
import { register as registerReport } from './report.ts';
import { register as registerTrain } from './train.ts';

/**
 * flowsieve.config.json: defaults for the options people repeat, per command, with the option names as on the
 * command line in camelCase (`{ "extract": { "idleTimeout": "60", "localNet": "10.0.0.0/8" } }`). Flags given on the
 * command line win. The file is data: parsed as JSON, size-limited, validated, never evaluated.
 */
const ConfigSchema = z
  .object({
    extract: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    train: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    evaluate: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    classify: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    report: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .strict();
type Config = z.infer<typeof ConfigSchema>;
const MAX_CONFIG_BYTES = 1 << 20;

export function loadConfig(path: string, explicit: boolean): Config {
  if (!existsSync(path)) {
    if (explicit) throw new UserError(`${path}: config file not found`);
    return {};
  }
  const text = readFileSync(path, 'utf8');
  if (text.length > MAX_CONFIG_BYTES) throw new UserError(`${path}: config file larger than 1 MiB`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = ConfigSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UserError(`${path}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return parsed.data;
}

/** Fill options the user did not give on the command line from the config file. */
function applyConfig(cmd: Command, config: Config, file: string): void {
  const section = config[cmd.name() as keyof Config];
  if (!section) return;
  const known = new Set(cmd.options.map((o) => o.attributeName()));
  for (const [key, value] of Object.entries(section)) {
    if (!known.has(key))
      throw new UserError(
        `${file}: ${cmd.name()}.${key}: not an option of '${cmd.name()}' (see flowsieve ${cmd.name()} --help)`,
      );
    const source = cmd.getOptionValueSource(key);
    if (source === undefined || source === 'default')
      cmd.setOptionValueWithSource(key, typeof value === 'number' ? String(value) : value, 'config');
  }
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('flowsieve')
    .description(
      'Packet captures → flow records with encrypted-traffic features, and tree models that rank the riskiest flows',
    )
    .version(PACKAGE_VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(add --help for usage)')
    .option('--config <file>', 'option defaults per command (default: ./flowsieve.config.json when present)')
    .exitOverride();
  program.hook('preAction', (_root, action) => {
    const explicit = program.opts().config as string | undefined;
    const file = explicit ?? 'flowsieve.config.json';
    applyConfig(action, loadConfig(file, explicit !== undefined), file);
  });
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
  // Interrupted while reading a capture on stdin (`tcpdump -w - | flowsieve ...`, then Ctrl-C): the first SIGINT
  // ends the input like an end of stream, so the flows read so far are finished and written. Otherwise, or on a
  // second signal: never leave a half-written output behind (outputs go to a temporary file, renamed at the end).
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    const abort = () => {
      removeTemporaryOutputs();
      process.stderr.write(`\nflowsieve: interrupted (${signal}); no output was left half-written\n`);
      process.exit(code);
    };
    process.once(signal, () => {
      // SIGTERM (a supervisor stopping us) still aborts at once; only Ctrl-C means "stop capturing, keep the flows".
      if (signal === 'SIGINT' && endStdinCapture()) {
        process.stderr.write(
          `\nflowsieve: ${signal}: input ended; finishing the flows read so far (${signal} again to abort)\n`,
        );
        process.once(signal, abort);
      } else abort();
    });
  }
  // `flowsieve ... | head`: a closed pipe ends the run quietly instead of with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; unknown options/commands have already been reported with a hint.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (e instanceof OutputError && e.code === 'broken_pipe') return 0;
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
