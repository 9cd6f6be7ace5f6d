import { kdasrVitestConfig } from '../../vitest.shared.ts';

export default kdasrVitestConfig();
