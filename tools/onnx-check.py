#!/usr/bin/python3
"""Check an ONNX file written by `kdasr export --format onnx` with the onnx package (Debian's python3-onnx).

usage: /usr/bin/python3 tools/onnx-check.py MODEL.onnx [--input X.f32 --rows N --out-dir DIR]

Runs onnx.checker.check_model(full_check=True) (schema, opset and shape inference) and prints one JSON line:
ir_version, opset, inputs/outputs with their shapes, the node op types. With --input (raw little-endian float32,
N rows of the model's input width) it also evaluates the graph with numpy, an independent reader of the ops kdasr
writes (Gemm, Relu, Softmax, LogSoftmax, Sum, Mul, Max, Log, Sub), and writes each output as DIR/<name>.f32.
Exit status 1 with the checker's message when the model is invalid.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def dims(value_info):
    return [d.dim_param if d.dim_param else d.dim_value for d in value_info.type.tensor_type.shape.dim]


def attr(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def evaluate(model, x):
    env = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in model.graph.initializer}
    env[model.graph.input[0].name] = x.astype(np.float64)
    for n in model.graph.node:
        a = [env[i] for i in n.input]
        op = n.op_type
        if op == 'Gemm':
            if attr(n, 'transA', 0) or attr(n, 'transB', 0) or attr(n, 'alpha', 1.0) != 1.0 or attr(n, 'beta', 1.0) != 1.0:
                raise SystemExit(f'onnx-check: node {n.name}: Gemm with transA/transB/alpha/beta is not what kdasr writes')
            y = a[0] @ a[1] + (a[2] if len(a) > 2 else 0)
        elif op == 'Relu':
            y = np.maximum(a[0], 0)
        elif op == 'Softmax':
            y = np.exp(log_softmax(a[0], attr(n, 'axis', -1)))
        elif op == 'LogSoftmax':
            y = log_softmax(a[0], attr(n, 'axis', -1))
        elif op == 'Sum':
            y = sum(a)
        elif op == 'Mul':
            y = a[0] * a[1]
        elif op == 'Max':
            y = np.maximum(a[0], a[1])
        elif op == 'Log':
            y = np.log(a[0])
        elif op == 'Sub':
            y = a[0] - a[1]
        else:
            raise SystemExit(f'onnx-check: node {n.name}: op {op} is not one kdasr writes; extend evaluate()')
        env[n.output[0]] = y
    return {o.name: env[o.name] for o in model.graph.output}


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('model')
    p.add_argument('--input')
    p.add_argument('--rows', type=int)
    p.add_argument('--out-dir')
    args = p.parse_args()
    model = onnx.load(args.model)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as e:
        print(json.dumps({'ok': False, 'model': args.model, 'error': str(e)}))
        return 1
    info = {
        'ok': True,
        'model': args.model,
        'onnx': onnx.__version__,
        'ir_version': model.ir_version,
        'opset': {o.domain or 'ai.onnx': o.version for o in model.opset_import},
        'inputs': [{'name': i.name, 'shape': dims(i)} for i in model.graph.input],
        'outputs': [{'name': o.name, 'shape': dims(o)} for o in model.graph.output],
        'ops': [n.op_type for n in model.graph.node],
        'initializers': len(model.graph.initializer),
    }
    if args.input:
        if not args.rows or not args.out_dir:
            raise SystemExit('onnx-check: --input needs --rows N and --out-dir DIR')
        width = dims(model.graph.input[0])[1]
        x = np.fromfile(args.input, dtype='<f4')
        if x.size != args.rows * width:
            raise SystemExit(f'onnx-check: {args.input} has {x.size} floats, expected {args.rows} x {width}')
        outs = evaluate(model, x.reshape(args.rows, width))
        os.makedirs(args.out_dir, exist_ok=True)
        for name, y in outs.items():
            y.astype('<f4').tofile(os.path.join(args.out_dir, f'{name}.f32'))
        info['evaluated'] = sorted(outs)
    print(json.dumps(info))
    return 0


if __name__ == '__main__':
    sys.exit(main())
