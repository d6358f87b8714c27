/**
 * Writes a file whole or not at all: the text goes to a temporary file beside
 * it, flushed to disk, which then replaces it by a rename (atomic on one file
 * system). An interrupted or failed write leaves the original as it was, never
 * a truncated lockfile; the original's permissions are kept. A symbolic link
 * stays a link: the file it points to is the one replaced.
 */
import { randomBytes } from 'node:crypto';
import { chmod, open, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const writeWhole = async (file: string, text: string): Promise<void> => {
  const target = await realpath(file);
  const mode = (await stat(target)).mode & 0o7777;
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temporary, 'wx', mode);
    try {
      await handle.writeFile(text);
      // Renamed before its bytes reach the disk, a crash could leave an empty lockfile.
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The umask may have narrowed the mode given at creation.
    await chmod(temporary, mode);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
};
