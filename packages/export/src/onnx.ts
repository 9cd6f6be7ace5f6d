/**
 * ONNX graph of kdasr's frame classifier (the ReLU MLP that describeMlpLayers accepts, or an ensemble of them):
 * spliced, normalised features `[N, inputDim]` in (N dynamic), `logits` `[N, numClasses]` out, and optionally
 * `loglikes` = log-softmax(logits) − priorScale · log prior, the scaled log-likelihoods decoding searches.
 * Encoded with protobufjs from the published onnx.proto (schema/onnx.proto, ONNX 1.12), never by hand.
 * No Node built-ins here: the caller passes the parsed schema (see onnx-schema.ts for the Node loader).
 */
import protobuf from 'protobufjs';

/** Opset and IR version written: opset 13 is the oldest with today's Softmax/LogSoftmax (single-axis) semantics. */
export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

/** One Dense layer: kernel row-major [inputDim, units] (TF.js layout), bias [units]. */
export interface DenseWeights {
  inputDim: number;
  units: number;
  kernel: Float32Array;
  bias: Float32Array;
  relu: boolean;
}

export interface OnnxClassifierSpec {
  /** One or more MLPs with the same input and output sizes (an ensemble when more than one). */
  members: DenseWeights[][];
  /** How members combine, as EnsembleClassifier does: arithmetic = log of the mean posterior; geometric = log-softmax of the mean logits. */
  combine?: 'arithmetic' | 'geometric';
  /** Log state priors: when given, the graph also outputs `loglikes`. */
  logPriors?: ArrayLike<number>;
  /** Prior scale of the loglikes output (decoding's priorScale). Default 1. */
  priorScale?: number;
  producerVersion?: string;
  docString?: string;
  /** String key/values kept in the model (ModelProto.metadata_props). */
  metadata?: Record<string, string>;
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2; // AttributeProto.AttributeType.INT

interface NodeSpec {
  op_type: string;
  inputs: string[];
  output: string;
  attrs?: { axis: number };
}

function tensor(name: string, dims: number[], values: Float32Array): object {
  // raw_data is little-endian float32; Float32Array is little-endian on every platform Node and browsers run on.
  return { name, data_type: FLOAT, dims, raw_data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

function valueInfo(name: string, cols: number): object {
  return { name, type: { tensor_type: { elem_type: FLOAT, shape: { dim: [{ dim_param: 'N' }, { dim_value: cols }] } } } };
}

function checkMember(m: DenseWeights[], i: number, where: string): void {
  if (m.length === 0) throw new Error(`${where}: member ${i} has no Dense layers`);
  m.forEach((l, j) => {
    if (l.kernel.length !== l.inputDim * l.units) throw new Error(`${where}: member ${i} layer ${j} kernel has ${l.kernel.length} values, expected ${l.inputDim} x ${l.units}`);
    if (l.bias.length !== l.units) throw new Error(`${where}: member ${i} layer ${j} bias has ${l.bias.length} values, expected ${l.units}`);
    if (j > 0 && l.inputDim !== m[j - 1].units) throw new Error(`${where}: member ${i} layer ${j} takes ${l.inputDim} inputs after a layer of ${m[j - 1].units}`);
    if (l.relu === (j === m.length - 1)) throw new Error(`${where}: member ${i} layer ${j} ${l.relu ? 'has' : 'lacks'} ReLU; hidden layers are ReLU, the output layer linear`);
  });
}

/** The ModelProto as a plain object (snake_case field names of onnx.proto), ready for encodeOnnxModel. */
export function onnxClassifierModel(spec: OnnxClassifierSpec): Record<string, unknown> {
  const where = 'onnxClassifierModel';
  const { members } = spec;
  if (members.length === 0) throw new Error(`${where}: no members`);
  members.forEach((m, i) => checkMember(m, i, where));
  const inputDim = members[0][0].inputDim;
  const numClasses = members[0][members[0].length - 1].units;
  members.forEach((m, i) => {
    if (m[0].inputDim !== inputDim || m[m.length - 1].units !== numClasses)
      throw new Error(`${where}: member ${i} is [${m[0].inputDim} -> ${m[m.length - 1].units}], member 0 [${inputDim} -> ${numClasses}]; an ensemble shares one frontend and inventory`);
  });
  const nodes: NodeSpec[] = [];
  const inits: object[] = [];
  const single = members.length === 1;
  const memberLogits = members.map((m, i) => {
    const p = single ? '' : `m${i}_`;
    let h = 'features';
    m.forEach((l, j) => {
      inits.push(tensor(`${p}dense_${j}_kernel`, [l.inputDim, l.units], l.kernel), tensor(`${p}dense_${j}_bias`, [l.units], l.bias));
      const out = j === m.length - 1 ? (single ? 'logits' : `${p}logits`) : `${p}dense_${j}`;
      nodes.push({ op_type: 'Gemm', inputs: [h, `${p}dense_${j}_kernel`, `${p}dense_${j}_bias`], output: out });
      h = out;
      if (l.relu) {
        nodes.push({ op_type: 'Relu', inputs: [h], output: `${p}relu_${j}` });
        h = `${p}relu_${j}`;
      }
    });
    return h;
  });
  if (!single) {
    const inv = new Float32Array([1 / members.length]);
    inits.push(tensor('inv_members', [], inv));
    if ((spec.combine ?? 'arithmetic') === 'geometric') {
      nodes.push({ op_type: 'Sum', inputs: memberLogits, output: 'logit_sum' });
      nodes.push({ op_type: 'Mul', inputs: ['logit_sum', 'inv_members'], output: 'mean_logits' });
      nodes.push({ op_type: 'LogSoftmax', inputs: ['mean_logits'], output: 'logits', attrs: { axis: 1 } });
    } else {
      // log of the mean posterior, floored at 1e-30 as EnsembleClassifier does.
      memberLogits.forEach((z, i) => nodes.push({ op_type: 'Softmax', inputs: [z], output: `m${i}_posteriors`, attrs: { axis: 1 } }));
      nodes.push({ op_type: 'Sum', inputs: members.map((_, i) => `m${i}_posteriors`), output: 'posterior_sum' });
      nodes.push({ op_type: 'Mul', inputs: ['posterior_sum', 'inv_members'], output: 'mean_posteriors' });
      inits.push(tensor('posterior_floor', [], new Float32Array([1e-30])));
      nodes.push({ op_type: 'Max', inputs: ['mean_posteriors', 'posterior_floor'], output: 'floored_posteriors' });
      nodes.push({ op_type: 'Log', inputs: ['floored_posteriors'], output: 'logits' });
    }
  }
  const outputs = [valueInfo('logits', numClasses)];
  if (spec.logPriors) {
    if (spec.logPriors.length !== numClasses) throw new Error(`${where}: logPriors has ${spec.logPriors.length} entries for ${numClasses} classes; use the model's own sidecar priors`);
    const s = spec.priorScale ?? 1;
    if (!Number.isFinite(s)) throw new Error(`${where}: priorScale must be finite, got ${s}`);
    const scaled = new Float32Array(numClasses);
    for (let c = 0; c < numClasses; c++) {
      if (!Number.isFinite(spec.logPriors[c])) throw new Error(`${where}: logPriors[${c}] is ${spec.logPriors[c]}; floor the priors before taking logs`);
      scaled[c] = s * spec.logPriors[c];
    }
    inits.push(tensor('scaled_log_priors', [numClasses], scaled));
    nodes.push({ op_type: 'LogSoftmax', inputs: ['logits'], output: 'log_posteriors', attrs: { axis: 1 } });
    nodes.push({ op_type: 'Sub', inputs: ['log_posteriors', 'scaled_log_priors'], output: 'loglikes' });
    outputs.push(valueInfo('loglikes', numClasses));
  }
  return {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: 'kdasr',
    producer_version: spec.producerVersion ?? '',
    doc_string: spec.docString ?? '',
    graph: {
      name: 'kdasr_frame_classifier',
      node: nodes.map((n, i) => ({
        name: `${n.op_type.toLowerCase()}_${i}`,
        op_type: n.op_type,
        input: n.inputs,
        output: [n.output],
        attribute: n.attrs ? [{ name: 'axis', type: ATTR_INT, i: n.attrs.axis }] : [],
      })),
      initializer: inits,
      input: [valueInfo('features', inputDim)],
      output: outputs,
    },
    metadata_props: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
}

/** Parse onnx.proto's text (keeping its snake_case field names). */
export function parseOnnxSchema(protoText: string): protobuf.Root {
  return protobuf.parse(protoText, { keepCase: true }).root;
}

/** Serialise a ModelProto object (from onnxClassifierModel) with the schema; throws on any field the schema lacks. */
export function encodeOnnxModel(schema: protobuf.Root, model: Record<string, unknown>): Uint8Array {
  const ModelProto = schema.lookupType('onnx.ModelProto');
  const err = ModelProto.verify(model);
  if (err) throw new Error(`encodeOnnxModel: the model does not match onnx.proto: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

/** Decode an .onnx file's bytes into a plain object (snake_case fields; bytes as Uint8Array, int64 as numbers). */
export function decodeOnnxModel(schema: protobuf.Root, bytes: Uint8Array): Record<string, unknown> {
  const ModelProto = schema.lookupType('onnx.ModelProto');
  return ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as Record<string, unknown>;
}
