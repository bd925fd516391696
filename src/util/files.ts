/**
 * Output files are written to a temporary file and renamed into place, so an interrupted run never leaves a
 * half-written file under the requested name. That only suits a regular file (or a path not there yet).
 */
import { lstatSync } from 'node:fs';

/**
 * Whether the output at `path` may be replaced by renaming a temporary file over it: nothing is there yet, or a
 * regular file. Anything else is written in place: a device, FIFO or socket (/dev/null, a named pipe) and a
 * symbolic link (/dev/stdout, `>(...)`'s /dev/fd/N, a link to a file kept elsewhere). Renaming over those replaced
 * them: run as root, `-o /dev/null` left the machine's /dev/null a regular file.
 */
export function replaceableByRename(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    // Not there (or not reachable): the temporary file is created beside it, or fails as the output would.
    return true;
  }
}
