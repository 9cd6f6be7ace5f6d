// Shared vitest settings. The `@kdasr/source` condition must be in both resolve and ssr.resolve:
// node tests run in vitest's ssr environment, and without it a stale dist/ would be tested silently.
import { basename, join } from 'node:path';
import { defineConfig } from 'vitest/config';

export const kdasrConditions = ['@kdasr/source'];

export function kdasrVitestConfig(options: { testTimeoutMs?: number; include?: string[] } = {}) {
  return defineConfig({
    resolve: { conditions: kdasrConditions },
    ssr: { resolve: { conditions: kdasrConditions, externalConditions: kdasrConditions } },
    test: {
      include: options.include ?? ['src/**/*.test.ts'],
      // forks: libespeak-ng and the wasm backend keep process-global state.
      pool: 'forks',
      testTimeout: options.testTimeoutMs ?? 60_000,
      hookTimeout: 120_000,
      // .ci/run sets KDASR_VITEST_JSON_DIR to collect one JSON report per project for its closing count.
      reporters: process.env.KDASR_VITEST_JSON_DIR
        ? ['default', ['json', { outputFile: join(process.env.KDASR_VITEST_JSON_DIR, `${basename(process.cwd())}.json`) }]]
        : ['default'],
    },
  });
}
