import { mergeConfig } from 'vitest/config';
import { kdasrVitestConfig } from '../../vitest.shared.ts';

export default mergeConfig(kdasrVitestConfig({ testTimeoutMs: 120_000 }), {
  test: { globalSetup: ['./vitest.global-setup.ts'] },
});
