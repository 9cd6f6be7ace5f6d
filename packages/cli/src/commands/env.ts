import { BACKENDS, initRuntime, type BackendRequest, type RuntimeInfo } from '@kdasr/core';
import { loadNativeEngine } from '@kdasr/native';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';

const HELP = `usage: kdasr env [--json] [--backend auto|tensorflow|wasm|cpu] [--threads N]

Starts the tensor runtime the way every kdasr command does and prints what it got: the backend, its threads,
whether the wasm matMul kernels are patched, library versions, whether the tensorflow (libtensorflow)
backends are installed and why not, and whether the native (C + OpenBLAS) engine loads. Exits non-zero when a forced backend cannot start.

  --json           machine-readable output (the RuntimeInfo object)
  --backend B      force a backend (default: KDASR_BACKEND, else the best available)
  --threads N      wasm threads (default: KDASR_THREADS, else the logical cores, at most 8)`;

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** Whether the optional native (C + OpenBLAS) training engine loads here, and why not when it does not. */
export interface NativeEngineStatus {
  available: boolean;
  reason?: string;
  blasThreads?: number;
  elementwiseThreads?: number;
  openblas?: string;
}

export function nativeEngineStatus(): NativeEngineStatus {
  const r = loadNativeEngine();
  if (!r.available) return { available: false, reason: r.reason };
  const i = r.engine.info();
  return {
    available: true,
    blasThreads: i.blasThreads,
    elementwiseThreads: i.elementwiseThreads,
    openblas: `${i.openblasConfig.trim()} (core ${i.openblasCore})`,
  };
}

/** The human-readable report. */
export function formatRuntimeInfo(info: RuntimeInfo, native?: NativeEngineStatus): string {
  const tp = info.tensorflowPackages;
  const status = (installed: boolean, reason: string | undefined) =>
    installed ? (reason ? 'installed, not usable (see below)' : 'installed') : 'not installed (see below)';
  const rows: [string, string][] = [
    ['backend', info.backend + (info.tensorflowPackage ? ` (${info.tensorflowPackage})` : '')],
    ['requested', `backend ${info.requested.backend}, threads ${info.requested.threads} (from ${info.requested.source})`],
    ['threads', String(info.threads) + (info.threadsReason ? ` (${info.threadsReason})` : '')],
    ['patched kernels', info.patchedKernels ? 'yes (BatchMatMul, _FusedMatMul)' : `no${info.patchReason ? ` (${info.patchReason})` : ''}`],
    ['tfjs-node', status(tp.tfjsNode, tp.reasons.tfjsNode)],
    ['tfjs-node-gpu', status(tp.tfjsNodeGpu, tp.reasons.tfjsNodeGpu)],
    ...(native
      ? [
          [
            'native engine',
            native.available
              ? `available (${native.blasThreads} BLAS + ${native.elementwiseThreads} elementwise threads; ${native.openblas})`
              : `unavailable: ${native.reason}`,
          ] as [string, string],
        ]
      : []),
    ...Object.entries(info.versions).map(([k, v]): [string, string] => [k, v]),
  ];
  const sections = [table(rows)];
  const reasons = [tp.reasons.tfjsNode, tp.reasons.tfjsNodeGpu].filter((r): r is string => !!r);
  if (reasons.length) sections.push(`tensorflow backends:\n${reasons.map((r) => `  - ${r}`).join('\n')}`);
  // The tensorflow fallback note repeats the reasons above.
  const notes = info.notes.filter((n) => !n.startsWith('tensorflow backend unavailable'));
  if (notes.length) sections.push(`notes:\n${notes.map((n) => `  - ${n}`).join('\n')}`);
  return sections.join('\n\n');
}

export const command: Command = {
  name: 'env',
  summary: 'show the tensor backend, threads and versions (--json)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'env',
      argv,
      { json: { type: 'boolean' }, backend: { type: 'string' }, threads: { type: 'string' } },
      HELP,
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length) throw new CliError(`env: unexpected argument "${positionals[0]}"\n\n${HELP}`);
    let threads: number | undefined;
    if (values.threads !== undefined) {
      threads = Number(values.threads);
      if (!Number.isInteger(threads)) throw new CliError(`env: --threads is "${values.threads}"; expected an integer`);
    }
    const backend = values.backend as BackendRequest | undefined;
    if (backend !== undefined && backend !== 'auto' && !(BACKENDS as readonly string[]).includes(backend))
      throw new CliError(`env: --backend is "${backend}"; expected one of auto, ${BACKENDS.join(', ')}`);
    const info = await initRuntime({ backend, threads });
    const native = nativeEngineStatus();
    console.log(values.json ? JSON.stringify({ ...info, nativeEngine: native }, null, 2) : formatRuntimeInfo(info, native));
    return 0;
  },
};
