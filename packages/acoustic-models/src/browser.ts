// The browser entry of @kdasr/acoustic-models (the `browser` export condition): what inference needs besides the
// network itself (state inventory, CMVN + splicing frontend, log posteriors and priors, phonetic trees, the
// model sidecar). Training, engines and model files on disk are in src/index.ts alone; a page loads the TF.js
// layers model with tf.loadLayersModel.
export { StateInventory, type StateInventoryConfig, type StateInventoryJson } from './states.js';
export { Frontend, frontendConfigSchema, parseFrontendConfig, type FrontendConfig, type FrontendConfigInput, type Utterance } from './dataset.js';
export { priorsFromCounts, logPosteriors, logSoftmaxRows, scaledLoglikes, type FrameScores } from './priors.js';
export { PhoneticTree, BOUNDARY, type TreeJson, type TreeQuestion } from './tree.js';
export { acousticSidecar, ACOUSTIC_MODEL_KIND, type AcousticSidecar, type AcousticSidecarMeta } from './sidecar.js';
