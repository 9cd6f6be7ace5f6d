// Public entry of @kdasr/web (Node): the demo server, the page's bundle, the static-site writer and the driver of
// the page in a real Chromium. The page itself (src/app/) and the recogniser it runs (src/recognizer.ts) are
// bundled for the browser by buildBundle.
export { buildBundle, BROWSER_BUILD, DEFAULT_BUNDLE_DIR, type BundleResult } from './build.js';
export { startDemoServer, routeOf, ISOLATION_HEADERS, type DemoServer } from './server.js';
export { modelSite, writeStaticSite, bundleFiles, wasmDir, ortWasmPath, ORT_WASM_FILE, type ModelSite, type ModelSiteOptions } from './site.js';
export { Recognizer, fetchRecognizerAssets, parseRecognizerManifest, tfjsFrameModel, onnxFrameModel, acousticSidecarJson, type FrameModel, type OnnxSessionLike, type ModelFormat, recognizerManifestSchema, RECOGNIZER_FILE, RECOGNIZER_FORMAT, type RecognizerManifest, type RecognizerAssets, type Recognition, type RecognitionTimings } from './recognizer.js';

export { runDemo, type DemoOptions } from './demo.js';
export type { PageResult } from './page-result.js';
export { findChromium, launchChromium, openRecognizerPage, pageResults, feedFiles, browserTiming, formatBrowserTiming, recognizeInBrowser, browserMeasure, type ChromiumOptions, type BrowserTiming, type BrowserRecognition, type BrowserContext, type Page } from './browser-session.js';
