/**
 * How a fresh node process runs our TypeScript: the CLI runs from source (tsx + the @kdasr/source export
 * condition, see packages/cli/bin/kdasr.mjs), and so do job children, BullMQ sandboxes and Slurm tasks.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export function tsNodeArgs(): string[] {
  return ['--conditions=@kdasr/source', '--import', require.resolve('tsx'), '--no-warnings=ExperimentalWarning'];
}

/** A sibling module of this package as a file path, with this file's extension (.ts from source, .js built). */
export function siblingModule(name: string): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`./${name}${self.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
}
