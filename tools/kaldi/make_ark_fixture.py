#!/usr/bin/python3
"""Write a small Kaldi feature archive from Kaldi's documented binary table layout, with numpy and struct only
(independent of kdasr's writer), plus the values a reader must return.

Layout (http://kaldi-asr.org/doc/io.html, "Binary mode"; matrix/kaldi-matrix.cc Matrix::Write;
matrix/compressed-matrix.cc CompressedMatrix::Write/CopyToMat):
  KEY ' ' '\\0' 'B' then the object:
    'FM ' / 'DM '   int32 rows and cols, each preceded by a size byte 4; then float32 / float64 row-major
    'CM '           float32 min, float32 range, int32 rows, int32 cols (no size bytes); per column 4 uint16
                    percentiles (0, 25, 75, 100); then rows bytes per column, column-major
    'CM2 '          same global header; then uint16 per value, row-major
    'CM3 '          same global header; then one byte per value, row-major
  scp line: KEY ' ' ARK ':' offset of the '\\0'.

Usage: /usr/bin/python3 tools/kaldi/make_ark_fixture.py packages/audio-features/src/__fixtures__/kaldi
"""
import json
import os
import struct
import sys

import numpy as np

f32 = np.float32


def fm(m):
    m = np.ascontiguousarray(m, dtype='<f4')
    return b'\0BFM ' + b'\x04' + struct.pack('<i', m.shape[0]) + b'\x04' + struct.pack('<i', m.shape[1]) + m.tobytes()


def dm(m):
    m = np.ascontiguousarray(m, dtype='<f8')
    return b'\0BDM ' + b'\x04' + struct.pack('<i', m.shape[0]) + b'\x04' + struct.pack('<i', m.shape[1]) + m.tobytes()


def u16_to_float(mn, rng, v):
    # Kaldi: min_value + range * 1.52590218966964e-05 * value, in double, returned as float.
    return f32(float(mn) + float(rng) * 1.52590218966964e-05 * int(v))


def cm(rows, cols, mn, rng, pct, data):
    """pct: [cols, 4] uint16 percentiles; data: [rows, cols] uint8. Returns (bytes, decoded float32 matrix)."""
    head = b'\0BCM ' + struct.pack('<ffii', mn, rng, rows, cols)
    body = np.asarray(pct, dtype='<u2').tobytes() + np.asarray(data, dtype=np.uint8).T.copy().tobytes()
    out = np.zeros((rows, cols), dtype=np.float32)
    for c in range(cols):
        p0, p25, p75, p100 = (u16_to_float(mn, rng, v) for v in pct[c])
        for r in range(rows):
            v = int(data[r][c])
            if v <= 64:
                x = float(p0) + float(f32(f32(p25 - p0) * f32(v))) * (1 / 64.0)
            elif v <= 192:
                x = float(p25) + float(f32(f32(p75 - p25) * f32(v - 64))) * (1 / 128.0)
            else:
                x = float(p75) + float(f32(f32(p100 - p75) * f32(v - 192))) * (1 / 63.0)
            out[r, c] = f32(x)
    return head + body, out


def cm_flat(tok, rows, cols, mn, rng, data, levels):
    head = b'\0B' + tok + b' ' + struct.pack('<ffii', mn, rng, rows, cols)
    dt = '<u2' if levels == 65535 else np.uint8
    body = np.asarray(data, dtype=dt).tobytes()
    # Kaldi: float increment = range * (1.0 / levels) (double product, stored as float); value = min + v * increment in float.
    inc = f32(float(f32(rng)) * (1.0 / levels))
    out = (f32(mn) + (np.asarray(data, dtype=np.float32) * inc).astype(np.float32)).astype(np.float32)
    return head + body, out


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(7)
    entries = []
    a = rng.normal(size=(5, 3)).astype(np.float32) * 10
    entries.append(('utt-a', fm(a), a))
    b = rng.normal(size=(2, 4))  # float64 values; a float32 reader rounds them
    entries.append(('utt-b', dm(b), b.astype(np.float32)))
    empty = np.zeros((0, 0), dtype=np.float32)
    entries.append(('utt-empty', fm(empty), empty))
    pct = [[100, 20000, 40000, 65000], [0, 1, 2, 3], [5000, 30000, 30001, 60000]]
    data = rng.integers(0, 256, size=(6, 3))
    data[0] = [0, 64, 255]
    data[1] = [192, 65, 193]
    by, dec = cm(6, 3, -12.5, 30.25, pct, data)
    entries.append(('utt-cm', by, dec))
    d2 = rng.integers(0, 65536, size=(3, 2))
    by, dec = cm_flat(b'CM2', 3, 2, -3.0, 7.5, d2, 65535)
    entries.append(('utt-cm2', by, dec))
    d3 = rng.integers(0, 256, size=(2, 5))
    by, dec = cm_flat(b'CM3', 2, 5, 1.0, 2.0, d3, 255)
    entries.append(('utt-cm3', by, dec))

    ark = bytearray()
    scp = []
    for key, obj, _ in entries:
        ark += key.encode() + b' '
        scp.append(f'{key} feats.ark:{len(ark)}')
        ark += obj
    with open(os.path.join(outdir, 'feats.ark'), 'wb') as f:
        f.write(bytes(ark))
    with open(os.path.join(outdir, 'feats.scp'), 'w') as f:
        f.write('\n'.join(scp) + '\n')
    expected = {key: {'rows': int(m.shape[0]), 'cols': int(m.shape[1]) if m.size else 0, 'data': [float(x) for x in m.reshape(-1)]} for key, _, m in entries}
    with open(os.path.join(outdir, 'expected.json'), 'w') as f:
        json.dump({'source': 'tools/kaldi/make_ark_fixture.py', 'entries': expected}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main(sys.argv[1])
