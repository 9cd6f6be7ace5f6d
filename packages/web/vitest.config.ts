import { kdasrVitestConfig } from '../../vitest.shared.ts';

// The real-browser test trains a small FSDD model and drives Chromium: minutes, not seconds, on 2 cores.
export default kdasrVitestConfig({ testTimeoutMs: 240_000 });
