#!/usr/bin/env node
// Builds the optional native addon (build/Release/kdasr_native.node) with node-gyp.
// Never fails an install: without a compiler, make, python3, OpenBLAS headers or Node headers it records why in
// build/native-status.json and exits 0, and @kdasr/native reports {available: false, reason} at run time.
//   --strict      exit 1 when the build fails (build:native, CI diagnostics)
//   --if-missing  do nothing when the addon exists and is newer than its sources (test set-up)
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(pkgDir, 'build');
const addon = join(buildDir, 'Release', 'kdasr_native.node');
const statusFile = join(buildDir, 'native-status.json');
const sources = [...readdirSync(join(pkgDir, 'csrc')).map((f) => `csrc/${f}`), 'binding.gyp', 'scripts/blas-flags.mjs'].map((f) => join(pkgDir, f));
const strict = process.argv.includes('--strict');
const ifMissing = process.argv.includes('--if-missing');

function writeStatus(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(statusFile, JSON.stringify({ ...status, node: process.version, date: new Date().toISOString() }, null, 2) + '\n');
}

function done(ok, reason, extra = {}) {
  writeStatus({ ok, reason, ...extra });
  const line = ok ? '@kdasr/native: native engine built' : `@kdasr/native: native engine not built (${reason}); the tfjs engine remains available`;
  console.log(line);
  process.exit(!ok && strict ? 1 : 0);
}

function has(cmd, args = ['--version']) {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

if (ifMissing && existsSync(addon)) {
  const built = statSync(addon).mtimeMs;
  if (sources.every((s) => !existsSync(s) || statSync(s).mtimeMs <= built)) process.exit(0);
}

if (process.env.KDASR_NATIVE_SKIP_BUILD === '1') done(false, 'KDASR_NATIVE_SKIP_BUILD=1 set', { missing: [] });
if (process.platform !== 'linux' || process.arch !== 'x64')
  done(false, `unsupported platform ${process.platform}/${process.arch} (linux/x64 only)`, { missing: ['linux-x64'] });

const missing = [];
if (!has('cc') && !has('gcc')) missing.push('C compiler (gcc)');
if (!has('make')) missing.push('make');
if (!has('python3')) missing.push('python3');
const blasInclude = spawnSync(process.execPath, [join(pkgDir, 'scripts/blas-flags.mjs'), 'include'], { encoding: 'utf8' }).stdout.trim();
if (!existsSync(join(blasInclude, 'cblas.h')) || !readFileSync(join(blasInclude, 'cblas.h'), 'utf8').includes('openblas'))
  missing.push('OpenBLAS headers (apt-get install libopenblas-dev)');

// Node headers: node-gyp would otherwise download them, which fails offline. Debian's nodejs-dev / the official
// tarball install put them under <prefix>/include/node.
const prefix = join(dirname(process.execPath), '..');
const nodedir = [process.env.npm_config_nodedir, prefix, '/usr', '/usr/local'].find(
  (d) => d && existsSync(join(d, 'include', 'node', 'node_api.h')),
);

function findNodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed as a package: npm's bundled copy is the usual one
  }
  return candidates.find((c) => c && existsSync(c));
}
const nodeGyp = findNodeGyp();
if (!nodeGyp) missing.push('node-gyp (bundled with npm)');
if (missing.length > 0) done(false, `missing: ${missing.join(', ')}`, { missing });

const args = [nodeGyp, 'rebuild', '--release'];
if (nodedir) args.push(`--nodedir=${nodedir}`);
const started = Date.now();
const r = spawnSync(process.execPath, args, { cwd: pkgDir, encoding: 'utf8', timeout: 300_000, env: { ...process.env, JOBS: '2' } });
const log = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
if (r.status === 0 && existsSync(addon)) {
  done(true, null, { missing: [], seconds: (Date.now() - started) / 1000, nodedir: nodedir ?? null });
} else {
  const tail = log.split('\n').filter(Boolean).slice(-25).join('\n');
  if (!strict) process.stderr.write(tail + '\n');
  else process.stderr.write(log);
  done(false, `node-gyp rebuild failed (exit ${r.status ?? r.signal ?? r.error?.message})`, { missing: [], log: tail });
}
