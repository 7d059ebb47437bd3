// Text files in a directory, for Tokenizer.save / Tokenizer.load (Node, Bun, Deno). node:fs is
// imported on first use, so this module loads everywhere; without a file system these helpers
// throw a TokenizerError and huggingFaceFiles() / fromHuggingFaceFiles() do the same job in memory.

import { TokenizerError } from '../core/errors';
import { errorCode, nodeFileSystem, randomTag, writeNewFileSynced, type FsPromises } from '../io/fs';

async function fileSystem(what: string): Promise<{ fs: FsPromises; join: (a: string, b: string) => string }> {
  const { fs, path } = await nodeFileSystem(() => new TokenizerError(`${what} needs a file system (node:fs); without one, use huggingFaceFiles() / Tokenizer.fromHuggingFaceFiles()`));
  return { fs, join: path.join };
}

/**
 * Writes each file into `dir` (created if missing). Each is written to a temporary name, synced,
 * then renamed over the old one, so a reader never sees a half-written file.
 */
export async function saveTextFiles(dir: string, files: Readonly<Record<string, string>>): Promise<void> {
  const { fs, join } = await fileSystem('Tokenizer.save');
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (error) {
    throw new TokenizerError(`could not create ${dir}: ${(error as Error).message}`);
  }
  for (const [name, text] of Object.entries(files)) {
    const target = join(dir, name);
    const temp = join(dir, `.${name}.tmp-${randomTag()}`);
    try {
      await writeNewFileSynced(fs, temp, text);
      await fs.rename(temp, target);
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      throw new TokenizerError(`could not write ${target}: ${(error as Error).message}`, name);
    }
  }
}

/** Reads those of `names` that exist in `dir`, name -> text. */
export async function loadTextFiles(dir: string, names: readonly string[]): Promise<Record<string, string>> {
  const { fs, join } = await fileSystem('Tokenizer.load');
  const files: Record<string, string> = {};
  for (const name of names) {
    try {
      files[name] = await fs.readFile(join(dir, name), 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') continue;
      throw new TokenizerError(`could not read ${join(dir, name)}: ${(error as Error).message}`, name);
    }
  }
  if (Object.keys(files).length === 0) throw new TokenizerError(`no tokenizer files in ${dir} (looked for ${names.join(', ')})`);
  return files;
}

