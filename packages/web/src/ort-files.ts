/** onnxruntime-web's wasm binary (SIMD build): the site serves it at ort/, the page's ONNX path loads it there. */
export const ORT_WASM_FILE = 'ort-wasm-simd-threaded.wasm';
