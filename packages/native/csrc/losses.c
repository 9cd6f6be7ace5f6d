// The fused loss pass: one row sweep computes the loss (hard labels, soft targets at T, KL, logit matching), dL/dz
// and the last layer's bias gradient.
#include "kdasr_native.h"

// e[c] = exp(z[c]/T - max(z)/T) for one row; returns their sum and the shift max(z)/T in *shift.
static float exp_row(const float *restrict z, float invT, int classes, float *restrict e, float *shift) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int c = 0; c < classes; c++) m = z[c] > m ? z[c] : m;
  const float mT = m * invT;
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int c = 0; c < classes; c++) {
    float x = exp_approx(z[c] * invT - mT);
    e[c] = x;
    s += x;
  }
  *shift = mT;
  return s;
}

typedef struct {
  Partials part;
  const float *logits;
  float *dz;
  const int32_t *labels;  // NULL when the hard term is off
  const float *target;
  float *trow;            // per-thread scratch: teacher-probability row, then the student's exps at T
  const LossCfg *cfg;
  int use_soft;
  float hw, invT, sw_grad;
  double soft_sum[MAX_THREADS], hard_sum[MAX_THREADS];
} LossCtx;

static void loss_rows(void *p, size_t r0, size_t r1, int tid) {
  LossCtx *k = p;
  const int classes = k->part.cols;
  const LossCfg *cfg = k->cfg;
  const float hw = k->hw, invT = k->invT, sw_grad = k->sw_grad;
  float *restrict ps = partials_for(&k->part, tid);
  float *restrict prow = k->trow + (size_t)tid * 2 * classes;
  float *restrict erow = prow + classes;
  double soft_sum = 0, hard_sum = 0;
  for (size_t r = r0; r < r1; r++) {
    const float *restrict z = k->logits + r * classes;
    float *restrict g = k->dz + r * classes;
    const float *restrict tg = k->target ? k->target + r * classes : NULL;
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int c = 0; c < classes; c++) m = z[c] > m ? z[c] : m;
    const int y = k->labels ? k->labels[r] : -1;
    // hard term at T = 1: g = hw * (softmax(z) - onehot(y))
    if (y >= 0) {
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int c = 0; c < classes; c++) {
        float e = exp_approx(z[c] - m);
        g[c] = e;
        s += e;
      }
      const float f = hw / s;
#pragma omp simd
      for (int c = 0; c < classes; c++) g[c] *= f;
      g[y] -= hw;
      hard_sum += (double)m + log((double)s) - (double)z[y];
    } else {
      memset(g, 0, (size_t)classes * sizeof(float));
    }
    if (k->use_soft && cfg->target_kind == 3) {
      // logit matching: 0.5 * sum (z - v)^2, gradient (z - v) / rows
      float l = 0;
#pragma omp simd reduction(+ : l)
      for (int c = 0; c < classes; c++) {
        float d = z[c] - tg[c];
        l += d * d;
        g[c] += sw_grad * d;
      }
      soft_sum += 0.5 * (double)l;
    } else if (k->use_soft) {
      // log q = z/T - lse(z/T); teacher p either given or softmax(v/T).
      // The exps are kept for q below: one exp sweep for the student's softmax at T, not two.
      float mT;
      const float sT = exp_row(z, invT, classes, erow, &mT);
      const float lseT = mT + logf(sT);
      const float *restrict pp = tg;
      float lseV = 0;
      if (cfg->target_kind == 2) {
        float mvT;
        const float sv = exp_row(tg, invT, classes, prow, &mvT);
        const float inv = 1.0f / sv;
#pragma omp simd
        for (int c = 0; c < classes; c++) prow[c] *= inv;
        lseV = mvT + logf(sv);
        pp = prow;
      }
      const float invS = 1.0f / sT;
      float ce = 0;
#pragma omp simd reduction(+ : ce)
      for (int c = 0; c < classes; c++) {
        float zt = z[c] * invT;
        float q = erow[c] * invS;
        ce += pp[c] * (zt - lseT);
        g[c] += sw_grad * (q - pp[c]);
      }
      double row = -(double)ce;
      if (cfg->kl) {
        // KL = CE - H(p); with teacher logits log p is exact (v/T - lse), else 0 log 0 = 0.
        double negent = 0;
        if (cfg->target_kind == 2) {
          for (int c = 0; c < classes; c++) negent += (double)pp[c] * ((double)tg[c] * invT - lseV);
        } else {
          for (int c = 0; c < classes; c++)
            if (pp[c] > 0) negent += (double)pp[c] * log((double)pp[c]);
        }
        row += negent;
      }
      soft_sum += row;
    }
#pragma omp simd
    for (int c = 0; c < classes; c++) ps[c] += g[c];
  }
  k->soft_sum[tid] += soft_sum;
  k->hard_sum[tid] += hard_sum;
}

// Loss over the logits and its gradient dL/dz into dz, plus the last layer's bias gradient (column sums).
// out[0] total, out[1] soft (unweighted, unscaled), out[2] hard (unweighted), out[3] labelled rows.
void loss_grad(Net *net, const float *logits, float *dz, int rows, int classes, const int32_t *labels,
                      const float *target, const LossCfg *cfg, float *gb, double *out) {
  int n_lab = 0;
  const int use_hard = labels && cfg->hard_weight > 0;
  if (use_hard)
    for (int r = 0; r < rows; r++) n_lab += labels[r] >= 0;
  LossCtx *k = calloc(1, sizeof(LossCtx));  // ~1 kB of per-thread sums: keep it off the stack
  if (!k) {
    out[0] = NAN;
    return;
  }
  k->part.partial = net->partial;
  k->part.cols = classes;
  k->logits = logits;
  k->dz = dz;
  k->labels = use_hard ? labels : NULL;
  k->target = target;
  k->trow = net->trow;
  k->cfg = cfg;
  k->use_soft = cfg->target_kind != 0 && cfg->soft_weight > 0;
  k->hw = n_lab > 0 ? (float)(cfg->hard_weight / n_lab) : 0.0f;
  k->invT = (float)(1.0 / cfg->temperature);
  k->sw_grad = cfg->target_kind == 3 ? (float)(cfg->soft_weight / rows) : (float)(cfg->soft_weight / ((double)rows * cfg->temperature));
  // The loss pass does several exp sweeps per element: worth splitting at a quarter of the usual size.
  parallel_for(loss_rows, k, (size_t)rows, row_chunk(rows), (size_t)rows * classes * 4);
  partials_reduce(&k->part, gb);
  double soft_sum = 0, hard_sum = 0;
  for (int t = 0; t < MAX_THREADS; t++) {
    soft_sum += k->soft_sum[t];
    hard_sum += k->hard_sum[t];
  }
  const double soft = k->use_soft ? soft_sum / rows : 0.0;
  const double hard = n_lab > 0 ? hard_sum / n_lab : 0.0;
  out[0] = (k->use_soft ? cfg->soft_weight * soft : 0.0) + (use_hard ? cfg->hard_weight * hard : 0.0);
  out[1] = soft;
  out[2] = hard;
  out[3] = n_lab;
  free(k);
}


// ---------------------------------------------------------------- teacher targets
// A stored-logit ensemble's soft targets: per row, the mean over members of softmax(z_m / T) (arithmetic), or
// softmax(mean_m z_m / T) (geometric). One vectorised exp sweep per member row: the JS loop's Math.exp cost as much
// as a student's training step on the first epoch at a temperature.

typedef struct {
  const float *const *logits;  // members' arrays, each [rows, classes] from its row 0
  float *out;                  // [rows, classes]
  float *scratch;              // [MAX_THREADS, 2 * classes]
  int members, rows, classes, geometric;
  float invT;
} SoftmaxMeanCtx;

static void softmax_row_into(const float *restrict z, float invT, int classes, float *restrict e, float *restrict dst, float w, int add) {
  float shift;
  const float f = w / exp_row(z, invT, classes, e, &shift);
  if (add) {
#pragma omp simd
    for (int c = 0; c < classes; c++) dst[c] += e[c] * f;
  } else {
#pragma omp simd
    for (int c = 0; c < classes; c++) dst[c] = e[c] * f;
  }
}

static void softmax_mean_rows(void *p, size_t r0, size_t r1, int tid) {
  SoftmaxMeanCtx *k = p;
  const int C = k->classes, M = k->members;
  float *restrict e = k->scratch + (size_t)tid * 2 * C;
  float *restrict acc = e + C;
  const float invM = 1.0f / (float)M;
  for (size_t r = r0; r < r1; r++) {
    float *dst = k->out + r * C;
    if (k->geometric) {
      memcpy(acc, k->logits[0] + r * C, (size_t)C * sizeof(float));
      for (int i = 1; i < M; i++) {
        const float *restrict z = k->logits[i] + r * C;
#pragma omp simd
        for (int c = 0; c < C; c++) acc[c] += z[c];
      }
#pragma omp simd
      for (int c = 0; c < C; c++) acc[c] *= invM;
      softmax_row_into(acc, k->invT, C, e, dst, 1.0f, 0);
    } else {
      for (int i = 0; i < M; i++) softmax_row_into(k->logits[i] + r * C, k->invT, C, e, dst, invM, i > 0);
    }
  }
}

int softmax_mean(const float *const *logits, int members, int rows, int classes, double temperature, int geometric, float *out) {
  float *scratch = malloc((size_t)MAX_THREADS * 2 * classes * sizeof(float));
  if (!scratch) return 0;
  SoftmaxMeanCtx k = {logits, out, scratch, members, rows, classes, geometric, (float)(1.0 / temperature)};
  parallel_for(softmax_mean_rows, &k, (size_t)rows, row_chunk(rows), (size_t)rows * classes * members * 2);
  free(scratch);
  return 1;
}
