// The file-system helpers behind every crash-safe writer (checkpoints, Hugging Face directories,
// tokenizer files). node:fs is imported on first use, so the modules that use these still load
// where there is none (browsers, workerd); each caller turns a missing file system, and each
// failed call, into its own typed error (docs/architecture.md, "Untrusted input").

export type FsPromises = typeof import('node:fs/promises');
export type PathModule = typeof import('node:path');

/** node:fs/promises and node:path, or the error `missing()` builds when they cannot be imported. */
export async function nodeFileSystem(missing: () => Error): Promise<{ fs: FsPromises; path: PathModule }> {
  try {
    const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    return { fs, path };
  } catch {
    throw missing();
  }
}

export type FsSync = typeof import('node:fs');

/**
 * node:fs (its synchronous calls, for writers that append within a training step) and
 * node:path, or the error `missing()` builds when they cannot be imported.
 */
export async function nodeSyncFileSystem(missing: () => Error): Promise<{ fs: FsSync; path: PathModule }> {
  try {
    const [fs, path] = await Promise.all([import('node:fs'), import('node:path')]);
    return { fs, path };
  } catch {
    throw missing();
  }
}

/** An error's `code` (ENOENT, EEXIST, ...), when it has one. */
export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}

/** Eight random hex digits, for temporary names that cannot collide with a concurrent writer's. */
export function randomTag(): string {
  const words = new Uint32Array(1);
  globalThis.crypto.getRandomValues(words);
  return words[0]!.toString(16).padStart(8, '0');
}

/** Writes `data` to a file that must not exist yet, and flushes it to disk before returning. */
export async function writeNewFileSynced(fs: FsPromises, file: string, data: Uint8Array | string): Promise<void> {
  const handle = await fs.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * fsync on a directory, so renames in it survive power loss. Windows cannot open or sync a
 * directory (its renames are as durable as it makes them): those errors are ignored; any other
 * goes to `fail`.
 */
export async function syncDirectory(fs: FsPromises, dir: string, fail: (error: unknown) => Error): Promise<void> {
  let handle;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EACCES'].includes(errorCode(error) ?? '')) throw fail(error);
  } finally {
    await handle?.close();
  }
}
