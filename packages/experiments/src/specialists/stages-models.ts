/** The specialists recipe's first stages: data, generalist, clusters, hard-target specialists. */
import { makeSidecar } from '@kdasr/core';
import { clusterClasses, confusionMatrix, predictionCovariance, saveNet } from '@kdasr/specialists';
import { type Stage } from '../stages.js';
import { type SpecialistsRecipeConfig } from './config.js';
import { accuracyOf, classCounts, predictTop1 } from './tasks.js';
import { MODELS_DIR, TaskEnv, pct, removeCkpt, writeResult } from './env.js';
import { trainGeneralistLike, trainSpecialistSet } from './training.js';
import type { ChosenSubset, ClustersResult, DataResult, GeneralistResult } from './results.js';

export function modelStages(getEnv: () => TaskEnv): Stage<SpecialistsRecipeConfig>[] {
  return [
    {
      name: 'data',
      description: 'load or prepare the task (speech: the ASR recipe\u2019s corpus, features and state labels)',
      configSlice: (c) => ({ task: c.task, data: c.data, seed: c.seed }),
      run: async () => {
        const env = getEnv();
        const t = await env.task();
        const r: DataResult = {
          task: t.name,
          description: t.description,
          numClasses: t.numClasses,
          inputDim: t.inputDim,
          sizes: { train: t.train.size, dev: t.dev.size, test: t.test.size },
          classNames: t.classNames,
          groupOfClass: t.groupOfClass,
          trainCounts: classCounts(t.labels.train, t.numClasses),
        };
        writeResult(env.expDir, 'data', r);
        env.log(`${t.name}: ${t.numClasses} classes, ${t.train.size}/${t.dev.size}/${t.test.size} train/dev/test examples of ${t.inputDim} features`);
        return { numClasses: t.numClasses, sizes: r.sizes };
      },
    },
    {
      name: 'generalist',
      description: 'train the generalist on all classes (hard labels)',
      configSlice: (c) => ({ engine: c.engine, generalist: c.generalist, seed: c.seed }),
      after: ['data'],
      run: async (c) => {
        const env = getEnv();
        const t0 = Date.now();
        const task = await env.task();
        const g = c.generalist;
        const { net, result } = await trainGeneralistLike(env, 'generalist', 'generalist', { epochs: g.epochs, batchSize: g.batchSize, learningRate: g.learningRate, seed: c.seed });
        try {
          const testAccuracy = accuracyOf(predictTop1(net.classifier, task.test), task.labels.test);
          const r: GeneralistResult = {
            engine: net.engine,
            engineReason: env.engine.kind === 'tfjs' ? env.engine.reason : undefined,
            devAccuracy: result.history.at(-1)?.validation ?? NaN,
            testAccuracy,
            examplesSeen: result.history.length * task.train.size,
            history: result.history,
            seconds: (Date.now() - t0) / 1000,
          };
          await saveNet(net, env.path(MODELS_DIR, 'generalist'), makeSidecar('kdasr-specialists-generalist', { ...g, task: c.task }, c.seed, { ...r }));
          writeResult(env.expDir, 'generalist', r);
          removeCkpt(env, 'generalist');
          env.log(`generalist: test accuracy ${pct(testAccuracy)} (dev ${pct(r.devAccuracy)}), engine ${net.engine}`);
          return { testAccuracy, devAccuracy: r.devAccuracy, engine: net.engine };
        } finally {
          net.dispose();
        }
      },
    },
    {
      name: 'clusters',
      description: 'covariance of the generalist\u2019s predictions on the training set, class clusters, specialist subsets',
      configSlice: (c) => ({ clusterings: c.clusterings, seed: c.seed }),
      after: ['generalist'],
      run: async (c) => {
        const env = getEnv();
        const t0 = Date.now();
        const task = await env.task();
        const gen = await env.generalist();
        const C = task.numClasses;
        const cov = predictionCovariance(gen.classifier, task.train, { batchSize: 1024 });
        let confusion: Float64Array | undefined;
        const counts = classCounts(task.labels.train, C);
        const score = (sub: number[]) => {
          let t = 0;
          for (const a of sub) for (const b of sub) if (a !== b) t += Math.max(0, cov.covariance[a * C + b]);
          return sub.length > 1 ? t / (sub.length * (sub.length - 1)) : 0;
        };
        const chosen: ChosenSubset[] = [];
        const seen = new Set<string>();
        const clusterings: ClustersResult['clusterings'] = [];
        for (const [i, cl] of c.clusterings.entries()) {
          if (cl.method === 'confusion-kmeans' && !confusion) confusion = confusionMatrix(task.labels.train, predictTop1(gen.classifier, task.train), C);
          const res = clusterClasses({ method: cl.method, k: cl.k, targetSize: cl.targetSize, numClasses: C, covariance: cov.covariance, confusion, seed: c.seed + i });
          const ranked = res.subsets
            .filter((s) => s.length >= cl.minSize && s.length <= (cl.maxSize ?? C - 1) && s.length < C && !seen.has(s.join(',')))
            .map((s) => ({ s, score: score(s) }))
            .sort((a, b) => b.score - a.score)
            .slice(0, cl.maxSpecialists);
          for (const { s, score: sc } of ranked) {
            seen.add(s.join(','));
            chosen.push({
              subset: s,
              names: s.map((j) => task.classNames[j]),
              clustering: i,
              method: cl.method,
              score: sc,
              trainShare: s.reduce((t, j) => t + counts[j], 0) / Math.max(1, task.labels.train.length),
            });
          }
          clusterings.push({ method: cl.method, k: res.subsets.length, sizes: res.subsets.map((s) => s.length), inertia: res.inertia, subsets: res.subsets, used: ranked.length });
          env.log(`clusters: ${cl.method} gave ${res.subsets.length} clusters (sizes ${Math.min(...res.subsets.map((s) => s.length))}-${Math.max(...res.subsets.map((s) => s.length))}); ${ranked.length} get a specialist`);
        }
        if (chosen.length === 0) throw new Error('clusters: no cluster qualifies for a specialist; check clusterings[].minSize/maxSize/maxSpecialists');
        const cover = new Int32Array(C);
        for (const ch of chosen) for (const j of ch.subset) cover[j]++;
        const r: ClustersResult = {
          covarianceExamples: cov.count,
          clusterings,
          chosen,
          coveredClasses: cover.filter((v) => v > 0).length,
          maxCoverage: Math.max(...cover),
          seconds: (Date.now() - t0) / 1000,
        };
        writeResult(env.expDir, 'clusters', r);
        return { specialists: chosen.length, coveredClasses: r.coveredClasses, maxCoverage: r.maxCoverage };
      },
    },
    {
      name: 'specialists',
      description: 'train one specialist per chosen subset (hard labels, half the batch from the subset, dustbin correction)',
      configSlice: (c) => ({ engine: c.engine, specialists: c.specialists, seed: c.seed }),
      after: ['clusters'],
      run: async () => {
        const env = getEnv();
        const r = await trainSpecialistSet(env, 'hard', 'specialists');
        writeResult(env.expDir, 'specialists', r);
        return { specialists: r.specialists.length, totalExamplesSeen: r.totalExamplesSeen };
      },
    },
  ];
}
