// Optimiser updates, one fused pass each (PyTorch semantics): momentum SGD (incl. Nesterov, dampening, weight
// decay) and Adam.
#include "kdasr_native.h"

typedef struct {
  float *w, *s0, *s1;
  const float *g;
  const OptCfg *o;
  // derived constants
  float a, b, step_size, inv_sqrt_bc2;
} UpdCtx;

// SGD (PyTorch semantics): v = mu v + (1-d)(g + wd w) (v = g + wd w on the first step); w -= lr (nesterov ? g' + mu v : v).
static void sgd_chunk(void *p, size_t i0, size_t i1, int tid) {
  (void)tid;
  const UpdCtx *k = p;
  float *restrict w = k->w, *restrict v = k->s0;
  const float *restrict g = k->g;
  const float mu = k->o->momentum, lr = k->o->lr, wd = k->o->weight_decay, a = k->a, b = k->b;
  if (mu == 0.0f) {
#pragma omp simd
    for (size_t i = i0; i < i1; i++) w[i] -= lr * (g[i] + wd * w[i]);
    return;
  }
  const int nest = k->o->nesterov;
#pragma omp simd
  for (size_t i = i0; i < i1; i++) {
    float gi = g[i] + wd * w[i];
    float vi = b * v[i] + a * gi;
    v[i] = vi;
    w[i] -= lr * (nest ? gi + mu * vi : vi);
  }
}

void sgd_update(float *w, float *v, const float *g, size_t n, const OptCfg *o) {
  UpdCtx k = {w, v, NULL, g, o, o->first ? 1.0f : 1.0f - o->dampening, o->first ? 0.0f : o->momentum, 0, 0};
  parallel_for(sgd_chunk, &k, n, FLAT_CHUNK, n * 4);
}

static void adam_chunk(void *p, size_t i0, size_t i1, int tid) {
  (void)tid;
  const UpdCtx *k = p;
  float *restrict w = k->w, *restrict m = k->s0, *restrict v = k->s1;
  const float *restrict g = k->g;
  const float b1 = k->o->beta1, b2 = k->o->beta2, wd = k->o->weight_decay, eps = k->o->eps;
  const float step_size = k->step_size, inv_sqrt_bc2 = k->inv_sqrt_bc2;
#pragma omp simd
  for (size_t i = i0; i < i1; i++) {
    float gi = g[i] + wd * w[i];
    float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    w[i] -= step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
  }
}

// Adam, PyTorch semantics: w -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps).
void adam_update(float *w, float *m, float *v, const float *g, size_t n, const OptCfg *o) {
  const double bc1 = 1.0 - pow(o->beta1, o->step), bc2 = 1.0 - pow(o->beta2, o->step);
  UpdCtx k = {w, m, v, g, o, 0, 0, (float)(o->lr / bc1), (float)(1.0 / sqrt(bc2))};
  parallel_for(adam_chunk, &k, n, FLAT_CHUNK, n * 4);
}

static void velocity_chunk(void *p, size_t i0, size_t i1, int tid) {
  (void)tid;
  const UpdCtx *k = p;
  float *restrict w = k->w;
  const float *restrict v = k->s0;
  const float lr = k->o->lr;
#pragma omp simd
  for (size_t i = i0; i < i1; i++) w[i] -= lr * v[i];
}

// w -= lr * v after the velocity was produced by sgemm.
void apply_velocity(float *w, float *v, size_t n, const OptCfg *o) {
  UpdCtx k = {w, v, NULL, NULL, o, 0, 0, 0, 0};
  parallel_for(velocity_chunk, &k, n, FLAT_CHUNK, n * 3);
}

static void decay_chunk(void *p, size_t i0, size_t i1, int tid) {
  (void)tid;
  const UpdCtx *k = p;
  float *restrict v = k->s0;
  const float *restrict w = k->w;
  const float mu = k->b, f = k->a;
#pragma omp simd
  for (size_t i = i0; i < i1; i++) v[i] = mu * v[i] + f * w[i];
}

// v = mu v + (1-d) wd w, before sgemm adds (1-d) A^T dZ with beta = 1.
void velocity_decay(float *v, float *w, size_t n, float mu, float f, const OptCfg *o) {
  UpdCtx k = {w, v, NULL, NULL, o, f, mu, 0, 0};
  parallel_for(decay_chunk, &k, n, FLAT_CHUNK, n * 3);
}


