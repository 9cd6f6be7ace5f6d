// Fused elementwise passes around the gemms: bias + ReLU + dropout forward, input dropout, ReLU/dropout backward
// with the bias gradient (column sums over per-thread partials).
#include "kdasr_native.h"

// ---------------------------------------------------------------- fused elementwise passes

typedef struct {
  float *out;
  const float *b;
  int cols, relu;
  uint32_t thr, seed, step, layer;
  float scale;
  int drop;
} BiasActCtx;

static void bias_act_rows(void *p, size_t r0, size_t r1, int tid) {
  (void)tid;
  const BiasActCtx *k = p;
  const int cols = k->cols;
  const float *restrict b = k->b;
  for (size_t r = r0; r < r1; r++) {
    float *restrict o = k->out + r * cols;
    if (!k->relu) {
#pragma omp simd
      for (int c = 0; c < cols; c++) o[c] += b[c];
    } else if (!k->drop) {
#pragma omp simd
      for (int c = 0; c < cols; c++) {
        float v = o[c] + b[c];
        o[c] = v > 0.0f ? v : 0.0f;
      }
    } else {
      const uint32_t key = row_key(k->seed, k->step, k->layer, (uint32_t)r);
      const uint32_t thr = k->thr;
      const float scale = k->scale;
#pragma omp simd
      for (int c = 0; c < cols; c++) {
        float v = o[c] + b[c];
        uint32_t h = mix32((uint32_t)c ^ key);
        float keep = h >= thr ? scale : 0.0f;  // branch-free so the loop vectorises
        o[c] = (v > 0.0f ? v : 0.0f) * keep;
      }
    }
  }
}

// out = relu(out + b) [* keep/(1-p)] for a hidden layer, or out + b for the logits.
void bias_act(float *out, const float *b, int rows, int cols, int relu, double rate, uint32_t seed,
                     uint32_t step, uint32_t layer) {
  BiasActCtx k = {out, b, cols, relu, drop_threshold(rate), seed, step, layer,
                  rate > 0 ? (float)(1.0 / (1.0 - rate)) : 1.0f, rate > 0};
  parallel_for(bias_act_rows, &k, (size_t)rows, row_chunk(rows), (size_t)rows * cols);
}

typedef struct {
  float *dst;
  const float *src;
  int cols;
  uint32_t thr, seed, step;
  float scale;
} DropCtx;

static void input_dropout_rows(void *p, size_t r0, size_t r1, int tid) {
  (void)tid;
  const DropCtx *k = p;
  const int cols = k->cols;
  const uint32_t thr = k->thr;
  const float scale = k->scale;
  for (size_t r = r0; r < r1; r++) {
    const uint32_t key = row_key(k->seed, k->step, 0, (uint32_t)r);
    const float *restrict s = k->src + r * cols;
    float *restrict d = k->dst + r * cols;
#pragma omp simd
    for (int c = 0; c < cols; c++) {
      uint32_t h = mix32((uint32_t)c ^ key);
      d[c] = s[c] * (h >= thr ? scale : 0.0f);
    }
  }
}

// Input dropout: dst = src * keep/(1-p). Layer index 0 in the mask key.
void input_dropout(float *dst, const float *src, int rows, int cols, double rate, uint32_t seed, uint32_t step) {
  DropCtx k = {dst, src, cols, drop_threshold(rate), seed, step, (float)(1.0 / (1.0 - rate))};
  parallel_for(input_dropout_rows, &k, (size_t)rows, row_chunk(rows), (size_t)rows * cols);
}

float *partials_for(Partials *p, int tid) {
  float *ps = p->partial + (size_t)tid * p->cols;
  if (!p->used[tid]) {
    memset(ps, 0, (size_t)p->cols * sizeof(float));
    p->used[tid] = 1;
  }
  return ps;
}

void partials_reduce(const Partials *p, float *restrict gb) {
  int first = 1;
  for (int t = 0; t < MAX_THREADS; t++) {
    if (!p->used[t]) continue;
    const float *restrict ps = p->partial + (size_t)t * p->cols;
    if (first) memcpy(gb, ps, (size_t)p->cols * sizeof(float));
    else {
#pragma omp simd
      for (int c = 0; c < p->cols; c++) gb[c] += ps[c];
    }
    first = 0;
  }
  if (first) memset(gb, 0, (size_t)p->cols * sizeof(float));
}

typedef struct {
  Partials part;
  float *dz;
  const float *a;
  float scale;
} ReluBackCtx;

static void relu_back_rows(void *p, size_t r0, size_t r1, int tid) {
  ReluBackCtx *k = p;
  const int cols = k->part.cols;
  const float scale = k->scale;
  float *restrict ps = partials_for(&k->part, tid);
  for (size_t r = r0; r < r1; r++) {
    float *restrict d = k->dz + r * cols;
    const float *restrict ar = k->a + r * cols;
#pragma omp simd
    for (int c = 0; c < cols; c++) {
      float v = d[c] * (ar[c] > 0.0f ? scale : 0.0f);
      d[c] = v;
      ps[c] += v;
    }
  }
}

// Backward through ReLU (and dropout): dz *= (a > 0) / (1-p), where a is the stored post-dropout activation
// (a > 0 exactly when the unit was active and kept, so no mask is stored). Also the bias gradient: column sums.
void relu_back_colsum(Net *net, float *dz, const float *a, int rows, int cols, double rate, float *gb) {
  ReluBackCtx k;
  memset(&k, 0, sizeof k);
  k.part.partial = net->partial;
  k.part.cols = cols;
  k.dz = dz;
  k.a = a;
  k.scale = rate > 0 ? (float)(1.0 / (1.0 - rate)) : 1.0f;
  parallel_for(relu_back_rows, &k, (size_t)rows, row_chunk(rows), (size_t)rows * cols);
  partials_reduce(&k.part, gb);
}

