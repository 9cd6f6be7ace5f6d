/**
 * The registry of every job kind kdasr's workers run: `kdasr worker` (BullMQ) and the local and Slurm job
 * processes import this module and run nothing else. A new fan-out unit adds its kind here.
 */
import { fileURLToPath } from 'node:url';
import type { JobKind } from '@kdasr/jobs';
import { ensembleMemberKind } from './asr/ensemble.js';

export const jobKinds: JobKind[] = [ensembleMemberKind as unknown as JobKind];

/** This module's file, for runners that start job processes (they import it there). */
export const JOB_KINDS_MODULE = fileURLToPath(import.meta.url);
