/**
 * What every command shares: exit codes, one-line errors, progress bars on a terminal, the stderr logger.
 */
import { SingleBar } from 'cli-progress';
import { PARQUET_COMPRESSIONS, type ParquetCompression } from '../output/parquet.ts';

export const EXIT_OK = 0;
/** Findings above --fail-on-score. */
export const EXIT_FINDINGS = 1;
/** Usage or input error. */
export const EXIT_USAGE = 2;

/** An error the user can act on: printed as one line, no stack trace, exit code 2 unless said otherwise. */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = EXIT_USAGE) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

export const useColor = () => process.stderr.isTTY === true && !process.env.NO_COLOR && process.env.TERM !== 'dumb';

export function paint(code: number, s: string): string {
  return useColor() ? `\x1b[${code}m${s}\x1b[0m` : s;
}

export function warn(message: string): void {
  process.stderr.write(`${paint(33, 'flowsieve: warning:')} ${message}\n`);
}

/**
 * A printer of capture warnings (truncated or corrupt input): one line each, naming the file (a directory of
 * captures otherwise leaves the user guessing which one is damaged), a message repeated back to back once.
 */
export function captureWarnings(): (w: { file: string; message: string }) => void {
  let last = '';
  return (w) => {
    const line = w.message.startsWith(w.file) ? w.message : `${w.file}: ${w.message}`;
    if (line !== last) warn(line);
    last = line;
  };
}

export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** A progress bar on stderr, or nothing when stderr is not a terminal or --quiet. */
export interface Progress {
  update(done: number, total: number, payload?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(
  label: string,
  quiet: boolean,
  unit: 'MB' | 'rounds' | 'folds' | 'captures' = 'MB',
): Progress {
  if (quiet || !process.stderr.isTTY) return { update() {}, stop() {} };
  const format =
    unit === 'MB'
      ? `${label} [{bar}] {percentage}% | {value}/{total} MB | {packets} packets | {rate} | ETA {eta_formatted}`
      : `${label} [{bar}] {percentage}% | {value}/{total} ${unit}{detail} | ETA {eta_formatted}`;
  const bar = new SingleBar({
    format,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
    fps: 5,
    barsize: 30,
  });
  let started = false;
  return {
    update(done, total, payload = {}) {
      if (!started) {
        bar.start(total, 0, { packets: 0, rate: '', detail: '', ...payload });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function parseSeconds(name: string, v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new UserError(`${name}: expected a positive number of seconds, got '${v}'`);
  return x;
}

/** Help text of the --compression option of Parquet outputs (extract, classify). */
export const COMPRESSION_HELP =
  'Parquet column compression: gzip (default; every reader has it) | brotli (faster) | none';

/** The --compression value; undefined when not given, a one-line usage error when not a codec. */
export function parseCompression(v: string | undefined): ParquetCompression | undefined {
  if (v === undefined) return undefined;
  if (!PARQUET_COMPRESSIONS.includes(v as ParquetCompression))
    throw new UserError(`--compression: expected ${PARQUET_COMPRESSIONS.join(', ')}, got '${v}'`);
  return v as ParquetCompression;
}

export function parsePositiveInt(name: string, v: string): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x <= 0) throw new UserError(`${name}: expected a positive integer, got '${v}'`);
  return x;
}

/**
 * 1234567 → "1,234,567" (rounded to an integer), grouped by hand: toLocaleString builds an Intl.NumberFormat per
 * call (~0.7 ms; progress bars format one per read), and even one cached formatter cost 30–37 ms of an extract
 * run, ICU's locale data being loaded on first use (lab500, node --cpu-prof).
 */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const r = Math.round(n);
  const digits = String(Math.abs(r));
  let out = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return r < 0 ? `-${out}` : out;
}
