// Builds the addon before the tests when it is missing or older than its sources (`npm ci` ran before the apt
// step installed OpenBLAS, or a fresh clone). A failed build is recorded, not thrown: test-support.ts decides.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const script = fileURLToPath(new URL('./scripts/build-native.mjs', import.meta.url));
  const r = spawnSync(process.execPath, [script, '--if-missing'], { stdio: 'inherit', timeout: 300_000 });
  if (r.error) console.warn(`@kdasr/native: build step could not run: ${r.error.message}`);
}
