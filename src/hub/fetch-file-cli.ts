/**
 * Child-process entry used by config-sync.ts: downloads one hub file into the cache and prints its local path as JSON.
 * Usage: node --import tsx src/hub/fetch-file-cli.ts ORG/NAME REVISION FILE
 */
import { hubDownload } from './hub-download.js';

const [repo, revision, file] = process.argv.slice(2);
try {
  const r = await hubDownload({ repo: repo!, revision: revision!, file: file! });
  process.stdout.write(JSON.stringify(r));
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(2);
}
