/**
 * The CLI on a live pipe, as `tcpdump -w - | flowsieve ...` runs it: stdin written and left open, stdout and
 * stderr collected as they come, so a test can wait for output that must appear before the input ends.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from './shared.ts';

export interface LiveRun {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Exit code once the process has closed its streams. */
  closed: Promise<number | null>;
  /**
   * The first `n` complete stdout lines. Rejects when the process exits first or after `timeoutMs` — a liveness
   * bound for a test that would otherwise hang, not a speed claim.
   */
  lines(n: number, timeoutMs?: number): Promise<string[]>;
}

export function runLive(args: string[], cwd = PROJECT_ROOT): LiveRun {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/flowsieve.js'), ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const complete = () => out.split('\n').slice(0, -1);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    closed,
    async lines(n, timeoutMs = 30_000) {
      for (let waited = 0; complete().length < n; waited += 20) {
        if (exited) throw new Error(`exited before writing ${n} line(s): ${out}${err}`);
        if (waited >= timeoutMs) throw new Error(`no ${n} line(s) within ${timeoutMs} ms: ${out}${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return complete().slice(0, n);
    },
  };
}
