/** Bot artifacts (screenshots, traces) are served only from inside the configured artifacts directory. */
import { realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';

/**
 * The real path of a stored artifact path (absolute, or relative to the artifacts directory) if,
 * after resolving `..` and symbolic links, it is a regular file inside the artifacts directory;
 * otherwise undefined.
 */
export async function insideArtifacts(artifactsDir: string, stored: string): Promise<string | undefined> {
  try {
    const root = await realpath(artifactsDir);
    const file = await realpath(resolve(root, stored));
    if (!file.startsWith(root + sep)) return undefined;
    return (await stat(file)).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}
