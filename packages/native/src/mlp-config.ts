/** The shape of a native MLP: shared by the model (mlp.ts) and its TF.js layer conversion (layers.ts). */
export interface NativeMlpConfig {
  inputDim: number;
  /** Hidden layer widths (ReLU), e.g. [512, 512, 512, 512]; [] gives softmax regression. */
  hiddenDims: number[];
  numClasses: number;
  /** Dropout rate after each hidden layer while training (default 0). */
  dropout?: number;
  /** Dropout rate on the input while training (default 0). */
  inputDropout?: number;
  /** Seed of the initial weights and of the dropout masks (default 0). */
  seed?: number;
}
