// Public entry of @kdasr/export: deployment exports of kdasr acoustic models (TF.js quantized, ONNX).
export { WEIGHT_DTYPES, float16Bits, toFloat16, quantizeUint8, quantizeWeights, type WeightDtype, type QuantizedWeights } from './quantize.js';
export { ONNX_OPSET, ONNX_IR_VERSION, onnxClassifierModel, parseOnnxSchema, encodeOnnxModel, decodeOnnxModel, type DenseWeights, type OnnxClassifierSpec } from './onnx.js';
export { classifierRunner, onnxRunner, compareOnDev, type LogitsRunner, type DevComparison } from './runners.js';
export {
  EXPORT_KIND,
  EXPORT_FILE,
  ONNX_FILE,
  exportModel,
  exportOptionsSchema,
  parseExportOptions,
  resolveModelSource,
  readLayersModelFiles,
  hashModelDirs,
  denseWeightsOf,
  devFrames,
  loadSourceClassifier,
  onnxSchema,
  type ExportOptions,
  type ExportOptionsInput,
  type ExportRecord,
  type ModelSource,
} from './export.js';
export { REPORT_VARIANTS, deploymentReport, formatDeploymentTable, type ReportVariant, type DeploymentReport, type DeploymentReportOptions, type DeploymentRow, type BrowserMeasure, type BrowserResult, type BrowserRow } from './report.js';
