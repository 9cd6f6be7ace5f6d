#!/usr/bin/env node
// Prints OpenBLAS compiler flags for binding.gyp: `include` (directories) or `libs` (linker flags).
// pkg-config first (Debian's libopenblas-dev ships openblas.pc); otherwise the usual Debian/Ubuntu locations.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const what = process.argv[2];

function pkgConfig(flag) {
  try {
    return execFileSync('pkg-config', [flag, 'openblas'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

const multiarch = `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
const includeCandidates = [
  `/usr/include/${multiarch}/openblas-pthread`,
  `/usr/include/${multiarch}/openblas-openmp`,
  `/usr/include/${multiarch}`,
  '/usr/include/openblas',
  '/usr/local/include',
  '/usr/include',
];

if (what === 'include') {
  const pc = pkgConfig('--cflags-only-I');
  const dirs = pc ? pc.split(/\s+/).filter(Boolean).map((f) => f.replace(/^-I/, '')) : [];
  const found = dirs.find((d) => existsSync(join(d, 'cblas.h'))) ?? includeCandidates.find((d) => existsSync(join(d, 'cblas.h')));
  console.log(found ?? '/usr/include');
} else if (what === 'libs') {
  const pc = pkgConfig('--libs');
  console.log(pc && pc.includes('-lopenblas') ? pc : '-lopenblas');
} else {
  console.error('usage: blas-flags.mjs include|libs');
  process.exit(2);
}
