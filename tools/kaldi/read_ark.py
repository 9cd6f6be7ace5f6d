#!/usr/bin/python3
"""Independent reader of Kaldi binary feature archives (numpy only), used to check what kdasr writes.

Reads an scp (KEY ARK:OFFSET per line; relative ark paths against the scp's directory) or an ark, decodes binary
float ('FM') and double ('DM') matrices from Kaldi's documented layout, and prints JSON
{"KEY": {"type": "FM"|"DM", "rows": R, "cols": C, "data": [...]}} to stdout.

Usage: /usr/bin/python3 tools/kaldi/read_ark.py scp:feats.scp | ark:feats.ark
"""
import json
import os
import struct
import sys

import numpy as np


def read_object(f, where):
    if f.read(2) != b'\0B':
        raise SystemExit(f'{where}: no binary header \\0B')
    tok = b''
    while True:
        c = f.read(1)
        if c in (b' ', b''):
            break
        tok += c
    tok = tok.decode()
    if tok not in ('FM', 'DM'):
        raise SystemExit(f'{where}: unsupported object type {tok!r}')
    dims = []
    for _ in range(2):
        size = f.read(1)
        if size != b'\x04':
            raise SystemExit(f'{where}: int32 size byte {size!r}, expected 4')
        dims.append(struct.unpack('<i', f.read(4))[0])
    rows, cols = dims
    dt = np.dtype('<f4' if tok == 'FM' else '<f8')
    raw = f.read(rows * cols * dt.itemsize)
    if len(raw) != rows * cols * dt.itemsize:
        raise SystemExit(f'{where}: truncated data')
    return tok, np.frombuffer(raw, dtype=dt).reshape(rows, cols)


def main(spec):
    kind, path = spec.split(':', 1)
    out = {}
    if kind == 'scp':
        base = os.path.dirname(path)
        for line in open(path):
            if not line.strip():
                continue
            key, loc = line.split()
            ark, off = loc.rsplit(':', 1)
            ark = ark if os.path.isabs(ark) else os.path.join(base, ark)
            with open(ark, 'rb') as f:
                f.seek(int(off))
                tok, m = read_object(f, f'{ark}:{off}')
            out[key] = {'type': tok, 'rows': m.shape[0], 'cols': m.shape[1], 'data': [float(x) for x in m.reshape(-1)]}
    else:
        with open(path, 'rb') as f:
            while True:
                key = b''
                while True:
                    c = f.read(1)
                    if c in (b' ', b''):
                        break
                    key += c
                if not key:
                    break
                tok, m = read_object(f, f'{path}:{f.tell()}')
                out[key.decode()] = {'type': tok, 'rows': m.shape[0], 'cols': m.shape[1], 'data': [float(x) for x in m.reshape(-1)]}
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main(sys.argv[1])
