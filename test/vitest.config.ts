import { kdasrVitestConfig } from '../vitest.shared.ts';

export default kdasrVitestConfig({ testTimeoutMs: 300_000 });
