// @kdasr/base: the tensor-free base layer. It loads no tfjs (src/no-tfjs.test.ts checks), so job workers,
// artifact readers and the browser start fast; @kdasr/core adds the tensor runtime and re-exports all of this.
export * from './browser.js';
export { writeFileAtomic, writeJsonAtomic, writeDirAtomic } from './atomic.js';
export { provenance, registerRuntimeReporter } from './provenance.js';
export { makeSidecar, readSidecar } from './sidecar-io.js';
export { lockDirectory, withDirectoryLock, DirectoryLockedError, LOCK_FILE, type DirectoryLock, type LockHolder, type LockOptions } from './lock.js';
export { Logger, Progress, configureLog, logSettings, formatDuration, QUIET_ENV, LOG_JSON_ENV, type LogSettings, type LogSink, type LoggerOptions, type ProgressOptions } from './progress.js';
