/** The specialists recipe's later stages: combining (Eq. 5), the compute-matched baseline, distilling back, soft-target specialists, the report. */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { makeSidecar, writeJsonAtomic } from '@kdasr/core';
import { predictLogits } from '@kdasr/distillation';
import {
  SpecialistEnsembleTeacher,
  calibrateDustbinOffset,
  combineOnSource,
  loadSpecialistNet,
  saveNet,
  specialistMetricsFromPredictions,
  specialistView,
  type CombineMethod,
} from '@kdasr/specialists';
import { type Stage } from '../stages.js';
import { type SpecialistsRecipeConfig } from './config.js';
import { accuracyOf, predictTop1 } from './tasks.js';
import { renderTaskReport, writePlots } from './report.js';
import {
  CKPT_DIR,
  EQ5_CRITERION,
  MODELS_DIR,
  TaskEnv,
  pct,
  readResult,
  removeCkpt,
  writeResult,
  writeTextAtomic,
  type LoadedSpecialist,
} from './env.js';
import { metricsOf, trainGeneralistLike, trainSpecialistSet } from './training.js';
import { collectSpecialistsTaskResults } from './collect.js';
import type { ClustersResult, CombineResult, SingleModelResult, SoftResult, SpecialistsResult } from './results.js';

export function systemStages(getEnv: () => TaskEnv): Stage<SpecialistsRecipeConfig>[] {
  return [
    {
      name: 'combine',
      description: 'generalist + specialists on the test set: Eq. 5 and the arithmetic/geometric shortcuts; Tables 3 and 4',
      configSlice: (c) => ({ combine: c.combine }),
      after: ['specialists'],
      run: async (c) => {
        const env = getEnv();
        const t0 = Date.now();
        const task = await env.task();
        const gen = await env.generalist();
        const specs = await env.hardSpecialists();
        const subsets = specs.map((s) => s.subset);
        let lastLog = Date.now();
        const methods: CombineMethod[] = ['eq5', 'arithmetic', 'geometric'];
        const r = combineOnSource({
          generalist: gen.classifier,
          specialists: specs.map((s) => ({ classifier: s.net.classifier, subset: s.subset })),
          source: task.test,
          methods,
          topN: c.combine.topN,
          solver: { gradTolerance: c.combine.gradTolerance, maxIterations: c.combine.maxIterations },
          onBatch: (done, total) => {
            if (Date.now() - lastLog > 20_000) {
              lastLog = Date.now();
              env.log(`combine: ${done}/${total} test examples`);
            }
          },
        });
        const withActive = r.active.filter((a) => a > 0).length;
        const its = r.eq5Iterations!;
        const out: CombineResult = {
          methods: Object.fromEntries(methods.map((m) => [m, { ...metricsOf(r, m, subsets), seconds: r.seconds[m] ?? 0 }])),
          generalistNll: r.nll.generalist,
          eq5: {
            criterion: EQ5_CRITERION,
            gradTolerance: c.combine.gradTolerance,
            maxIterations: c.combine.maxIterations,
            meanIterations: withActive ? its.reduce((a, b) => a + b, 0) / withActive : 0,
            maxIterations_: its.reduce((a, b) => Math.max(a, b), 0),
            notConverged: r.eq5NotConverged,
            meanActive: r.active.reduce((a, b) => a + b, 0) / Math.max(1, r.numExamples),
            withActive,
          },
          topN: c.combine.topN,
          specialistRows: r.specialistRows,
          seconds: (Date.now() - t0) / 1000,
        };
        writeResult(env.expDir, 'combine', out);
        const e = out.methods.eq5!;
        env.log(
          `combine: generalist ${pct(e.generalistAccuracy)} -> Eq. 5 ${pct(e.combinedAccuracy)} (arithmetic ${pct(out.methods.arithmetic!.combinedAccuracy)}, geometric ${pct(out.methods.geometric!.combinedAccuracy)}); conditional ${pct(e.conditional.generalistAccuracy)} -> ${pct(e.conditional.combinedAccuracy)}`,
        );
        return { generalist: e.generalistAccuracy, eq5: e.combinedAccuracy, conditional: e.conditional };
      },
    },
    {
      name: 'baseline',
      description: 'compute-matched baseline: the generalist trained on for the example passes all specialists used',
      configSlice: (c) => ({ baseline: c.baseline, specialists: { epochs: c.specialists.epochs, batchSize: c.specialists.batchSize, learningRate: c.specialists.learningRate } }),
      after: ['specialists'],
      run: async (c) => {
        const env = getEnv();
        if (!c.baseline.enabled) {
          writeResult(env.expDir, 'baseline', { enabled: false });
          return { enabled: false };
        }
        const t0 = Date.now();
        const task = await env.task();
        const gen = await env.generalist();
        const spec = readResult<SpecialistsResult>(env.expDir, 'specialists');
        const exact = spec.totalExamplesSeen / task.train.size;
        const epochs = Math.max(1, Math.round(exact));
        env.log(`baseline: the specialists processed ${spec.totalExamplesSeen} examples = ${exact.toFixed(2)} generalist epochs; training the generalist ${epochs} more epoch(s)`);
        const ckptTests = env.path(CKPT_DIR, `baseline-${env.hashes.get('baseline')}.test.json`);
        const testByEpoch: number[] = existsSync(ckptTests) ? (JSON.parse(readFileSync(ckptTests, 'utf8')) as number[]) : [];
        const { net, result } = await trainGeneralistLike(env, 'baseline', 'baseline', {
          epochs,
          batchSize: c.specialists.batchSize,
          learningRate: c.specialists.learningRate,
          seed: c.seed + 7,
          init: gen,
          onEpoch: (n) => {
            testByEpoch.push(accuracyOf(predictTop1(n.classifier, task.test), task.labels.test));
            mkdirSync(env.path(CKPT_DIR), { recursive: true });
            writeJsonAtomic(ckptTests, testByEpoch);
          },
        });
        try {
          const pred = predictTop1(net.classifier, task.test);
          const genPred = predictTop1(gen.classifier, task.test);
          const subsets = readResult<ClustersResult>(env.expDir, 'clusters').chosen.map((x) => x.subset);
          const r: SingleModelResult = {
            enabled: true,
            metrics: specialistMetricsFromPredictions({ labels: task.labels.test, generalist: genPred, combined: pred, numClasses: task.numClasses, subsets }),
            epochs,
            extraEpochsExact: exact,
            examplesSeen: result.history.length * task.train.size,
            devAccuracy: result.history.at(-1)?.validation,
            testAccuracyByEpoch: testByEpoch.slice(0, epochs),
            seconds: (Date.now() - t0) / 1000,
          };
          await saveNet(net, env.path(MODELS_DIR, 'baseline'), makeSidecar('kdasr-specialists-baseline', { epochs, from: 'generalist' }, c.seed + 7, { ...r }));
          writeResult(env.expDir, 'baseline', r);
          removeCkpt(env, 'baseline');
          rmSync(ckptTests, { force: true });
          env.log(`baseline: test accuracy ${pct(r.metrics.combinedAccuracy)} (generalist ${pct(r.metrics.generalistAccuracy)})`);
          return { testAccuracy: r.metrics.combinedAccuracy, epochs };
        } finally {
          net.dispose();
        }
      },
    },
    {
      name: 'distil-back',
      description: 'distil generalist + specialists (their combined distribution) back into one generalist-shaped model',
      configSlice: (c) => ({ distilBack: c.distilBack, combine: c.combine, engine: c.engine }),
      after: ['specialists'],
      run: async (c) => {
        const env = getEnv();
        const d = c.distilBack;
        if (!d.enabled) {
          writeResult(env.expDir, 'distil-back', { enabled: false });
          return { enabled: false };
        }
        const t0 = Date.now();
        const task = await env.task();
        const gen = await env.generalist();
        const specs = await env.hardSpecialists();
        const teacher = new SpecialistEnsembleTeacher({
          generalist: gen.classifier,
          specialists: specs.map((s) => ({ classifier: s.net.classifier, subset: s.subset })),
          topN: c.combine.topN,
          solver: { gradTolerance: c.combine.gradTolerance, maxIterations: c.combine.maxIterations },
          method: d.method,
          cacheExamples: task.train.size,
          maxCacheBytes: d.cacheMiB * 2 ** 20,
        });
        env.log(`distil-back: teacher = generalist + ${specs.length} specialists (${d.method}) at T=${d.temperature}${teacher.caching ? ', combined targets cached after the first epoch' : ''}`);
        const { net, result } = await trainGeneralistLike(env, 'distil-back', 'distil-back', {
          epochs: d.epochs,
          batchSize: d.batchSize,
          learningRate: d.learningRate,
          seed: c.seed + 11,
          init: d.init === 'generalist' ? gen : undefined,
          teacher,
          distil: d,
        });
        try {
          const pred = predictTop1(net.classifier, task.test);
          const genPred = predictTop1(gen.classifier, task.test);
          const subsets = specs.map((s) => s.subset);
          const r: SingleModelResult = {
            enabled: true,
            metrics: specialistMetricsFromPredictions({ labels: task.labels.test, generalist: genPred, combined: pred, numClasses: task.numClasses, subsets }),
            epochs: d.epochs,
            examplesSeen: result.history.length * task.train.size,
            devAccuracy: result.history.at(-1)?.validation,
            teacher: { method: d.method, temperature: d.temperature, cached: teacher.caching, rowsComputed: teacher.stats.rowsComputed, notConverged: teacher.stats.notConverged },
            seconds: (Date.now() - t0) / 1000,
          };
          await saveNet(net, env.path(MODELS_DIR, 'distil-back'), makeSidecar('kdasr-specialists-distil-back', d, c.seed + 11, { ...r }));
          writeResult(env.expDir, 'distil-back', r);
          removeCkpt(env, 'distil-back');
          env.log(`distil-back: test accuracy ${pct(r.metrics.combinedAccuracy)} (generalist ${pct(r.metrics.generalistAccuracy)})`);
          return { testAccuracy: r.metrics.combinedAccuracy };
        } finally {
          net.dispose();
        }
      },
    },
    {
      name: 'soft-specialists',
      description: 'specialists also trained on the generalist\u2019s soft targets (§6.1), and hard ones with a dev-fitted dustbin, under Eq. 5',
      configSlice: (c) => ({ softSpecialists: c.softSpecialists, specialists: c.specialists, combine: c.combine, engine: c.engine, seed: c.seed }),
      after: ['specialists'],
      run: async (c) => {
        const env = getEnv();
        if (!c.softSpecialists.enabled) {
          writeResult(env.expDir, 'soft-specialists', { enabled: false, seconds: 0 });
          return { enabled: false };
        }
        const t0 = Date.now();
        const task = await env.task();
        const soft = await trainSpecialistSet(env, 'soft', 'soft-specialists');
        const gen = await env.generalist();
        const solver = { gradTolerance: c.combine.gradTolerance, maxIterations: c.combine.maxIterations };
        const softNets: LoadedSpecialist[] = [];
        const calibrated: LoadedSpecialist[] = [];
        try {
          for (const s of soft.specialists) {
            const l = await loadSpecialistNet(env.path(s.dir), env.engine);
            softNets.push({ net: l.net, subset: l.subset, dustbinOffset: l.dustbinOffset });
          }
          const hard = readResult<SpecialistsResult>(env.expDir, 'specialists');
          const offsets: number[] = [];
          for (const s of hard.specialists) {
            const l = await loadSpecialistNet(env.path(s.dir), env.engine);
            calibrated.push({ net: l.net, subset: l.subset, dustbinOffset: l.dustbinOffset });
            const z = predictLogits(l.net.classifier, specialistView(task.dev, l.subset));
            const cal = calibrateDustbinOffset(z.logits, z.labels!, l.subset.length + 1);
            l.net.addToOutputBias(l.subset.length, cal.offset);
            offsets.push(cal.offset);
          }
          const evalSet = (set: LoadedSpecialist[]) => {
            const r = combineOnSource({
              generalist: gen.classifier,
              specialists: set.map((s) => ({ classifier: s.net.classifier, subset: s.subset })),
              source: task.test,
              methods: ['eq5'],
              topN: c.combine.topN,
              solver,
            });
            return { metrics: metricsOf(r, 'eq5', set.map((s) => s.subset)), notConverged: r.eq5NotConverged };
          };
          const softEval = evalSet(softNets);
          const hardEval = evalSet(calibrated);
          const out: SoftResult = {
            enabled: true,
            soft,
            softMetrics: softEval.metrics,
            hardCalibratedMetrics: hardEval.metrics,
            hardCalibrationOffsets: offsets,
            eq5NotConverged: { soft: softEval.notConverged, hardCalibrated: hardEval.notConverged },
            seconds: (Date.now() - t0) / 1000,
          };
          writeResult(env.expDir, 'soft-specialists', out);
          env.log(
            `soft-specialists: Eq. 5 with soft-target specialists ${pct(out.softMetrics!.combinedAccuracy)}, with hard ones re-calibrated on dev ${pct(out.hardCalibratedMetrics!.combinedAccuracy)} (generalist ${pct(out.softMetrics!.generalistAccuracy)})`,
          );
          return { soft: out.softMetrics!.combinedAccuracy, hardCalibrated: out.hardCalibratedMetrics!.combinedAccuracy };
        } finally {
          for (const s of [...softNets, ...calibrated]) s.net.dispose();
        }
      },
    },
    {
      name: 'report',
      description: 'RESULTS.md (Tables 2-4 beside the paper, beyond-the-paper table), results.json, SVG plots',
      configSlice: (c) => ({ table2Rows: c.table2Rows }),
      after: ['data', 'generalist', 'clusters', 'specialists', 'combine', 'baseline', 'distil-back', 'soft-specialists'],
      run: async () => {
        const env = getEnv();
        const r = collectSpecialistsTaskResults(env.expDir, env.config, env.engine, env.command);
        writeJsonAtomic(env.path('results.json'), r);
        await writePlots(env.expDir, r);
        writeTextAtomic(env.path('RESULTS.md'), renderTaskReport(r, { plotPrefix: 'plots/' }));
        return { wrote: ['RESULTS.md', 'results.json', 'plots/'] };
      },
    },
  ];
}
