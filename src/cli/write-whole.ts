/**
 * Writes a file whole or not at all: the text goes to a temporary file beside
 * it, which then replaces it by a rename (atomic on one file system). An
 * interrupted or failed write leaves the original as it was, never a
 * truncated lockfile; the original's permissions are kept.
 */
import { randomBytes } from 'node:crypto';
import { chmod, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const writeWhole = async (file: string, text: string): Promise<void> => {
  const { mode } = await stat(file);
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text, { flag: 'wx', mode });
    // The umask may have narrowed the mode given at creation.
    await chmod(temporary, mode);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
};
