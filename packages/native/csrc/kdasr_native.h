// Internal header of the native engine (@kdasr/native): the network struct, shared constants, the inline math
// helpers and the functions each source file provides to the others. Split by concern:
//   runtime.c      allocation accounting, per-network scratch, the elementwise work pool
//   gemm.c         the sgemm-based passes: forward, the backward/update sweep of a training step, raw sgemm
//   activations.c  fused bias + ReLU + dropout forward, input dropout, ReLU backward with bias-gradient sums
//   losses.c       the fused loss pass (hard, soft at T, KL, logit matching) and dL/dz
//   optimizers.c   momentum SGD and Adam updates (PyTorch semantics)
//   napi.c         the N-API entry points (argument checks, then calls into the files above)
#ifndef KDASR_NATIVE_H
#define KDASR_NATIVE_H
#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_LAYERS 32
// Elementwise loops smaller than this stay on one thread: waking the OpenMP worker costs more than it saves.
#define PAR_MIN 32768
#define MAX_THREADS 64

extern int64_t g_alloc_bytes;
extern int64_t g_alloc_count;
extern int g_ew_threads;  // threads for the elementwise passes (the pool in runtime.c, not OpenMP)

// Per-phase time of training steps (wall and calling-thread CPU, ns), read by info(): where a step goes, without
// a profiler. Phases: forward gemm, forward elementwise, loss, backward dA gemm, dW gemm, ReLU backward, update.
#define N_PHASES 7
extern double g_prof_wall[N_PHASES], g_prof_cpu[N_PHASES];
static inline double now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}
#define PROF(phase, stmt)                                                  \
  do {                                                                     \
    double w0_ = now_ns(CLOCK_MONOTONIC), c0_ = now_ns(CLOCK_THREAD_CPUTIME_ID); \
    stmt;                                                                  \
    g_prof_wall[phase] += now_ns(CLOCK_MONOTONIC) - w0_;                   \
    g_prof_cpu[phase] += now_ns(CLOCK_THREAD_CPUTIME_ID) - c0_;            \
  } while (0)

void *xalloc(size_t bytes);
void xfree(void *p, size_t bytes);

typedef struct {
  int n_layers;              // dense layers
  int dims[MAX_LAYERS + 1];  // dims[0] input, dims[n_layers] classes
  int max_width;             // max over dims[1..]
  int max_all;               // max over all dims
  size_t max_weights;        // largest kernel
  int cap;                   // rows the activation scratch holds
  float *act[MAX_LAYERS + 1];  // act[0]: input after input dropout; act[l]: layer l output (post ReLU/dropout)
  size_t act_bytes[MAX_LAYERS + 1];
  float *dz[2];              // gradient ping-pong, cap * max_all
  size_t dz_bytes;
  float *gw;                 // weight-gradient scratch (Adam, Nesterov), lazily allocated
  size_t gw_bytes;
  float *gb;                 // bias gradient, max_width
  float *partial;            // per-thread column partial sums, threads * max_width
  size_t partial_bytes;
  float *trow;               // per-thread rows for the loss pass (teacher probabilities, student exps), threads * 2 * classes
  size_t trow_bytes;
  int partial_threads;
} Net;

// ---------------------------------------------------------------- math helpers

// Cephes-style expf: ~1 ulp, branch-free so that `omp simd` vectorises it (glibc's vector expf needs -ffast-math).
// Its floorf becomes vroundps only with -fno-trapping-math (binding.gyp): without it every exp loop ran scalar.
static inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  float k = floorf(x * 1.44269504088896341f + 0.5f);
  float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  union { float f; int32_t i; } u;
  u.i = ((int32_t)k + 127) << 23;
  return p * u.f;
}

// lowbias32 finaliser: dropout masks are a pure function of (seed, step, layer, row, column), so they do not
// depend on the thread count and a test can rebuild them.
static inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}
static inline uint32_t row_key(uint32_t seed, uint32_t step, uint32_t layer, uint32_t row) {
  uint32_t k = mix32(seed ^ 0x9e3779b9u);
  k = mix32(k ^ (step * 0x85ebca6bu));
  k = mix32(k ^ (layer * 0xc2b2ae35u + 0x27d4eb2fu));
  return mix32(k ^ (row * 0x165667b1u));
}
static inline uint32_t drop_threshold(double rate) {
  double t = rate * 4294967296.0;
  return t >= 4294967295.0 ? 0xffffffffu : (uint32_t)t;
}

// ---------------------------------------------------------------- runtime.c
void net_free_scratch(Net *net);
int net_ensure(Net *net, int rows);
int net_ensure_threads(Net *net, int threads);
void net_destroy(Net *net);
typedef void (*chunk_fn)(void *ctx, size_t begin, size_t end, int tid);
// Runs fn over [0, n) in chunks of `chunk`; inline when small, single-threaded, or the pool is in use.
void parallel_for(chunk_fn fn, void *ctx, size_t n, size_t chunk, size_t work);
size_t row_chunk(int rows);
#define FLAT_CHUNK ((size_t)16384)

// ---------------------------------------------------------------- activations.c
// Column partial sums per participating thread (bias gradients): each thread zeroes its row of `partial` the
// first time it runs a chunk of the current pass, and the caller adds up the rows that were used.
typedef struct {
  float *partial;
  int cols;
  int used[MAX_THREADS];
} Partials;

float *partials_for(Partials *p, int tid);
void partials_reduce(const Partials *p, float *restrict gb);
void bias_act(float *out, const float *b, int rows, int cols, int relu, double rate, uint32_t seed, uint32_t step, uint32_t layer);
void input_dropout(float *dst, const float *src, int rows, int cols, double rate, uint32_t seed, uint32_t step);
void relu_back_colsum(Net *net, float *dz, const float *a, int rows, int cols, double rate, float *gb);

// ---------------------------------------------------------------- losses.c
typedef struct {
  int target_kind;     // 0 none, 1 teacher probabilities, 2 teacher logits (softened at T), 3 logit matching
  int kl;              // soft term reported as KL instead of cross-entropy (same gradient)
  double temperature;
  double soft_weight;  // includes the T^2 scale when requested
  double hard_weight;
} LossCfg;
// Soft targets of stored-logit members (one [rows, classes] array each) at T: mean of softmaxes, or softmax of the
// mean logits (geometric). Returns 0 when scratch cannot be allocated.
int softmax_mean(const float *const *logits, int members, int rows, int classes, double temperature, int geometric, float *out);
void loss_grad(Net *net, const float *logits, float *dz, int rows, int classes, const int32_t *labels, const float *target,
               const LossCfg *cfg, float *gb, double *out);

// ---------------------------------------------------------------- optimizers.c
typedef struct {
  int kind;  // 0 gradients only, 1 SGD, 2 Adam
  float lr, momentum, dampening, weight_decay;
  int nesterov;
  int first;  // first SGD step: PyTorch starts the buffer at g without dampening
  float beta1, beta2, eps;
  double step;  // Adam step count t (already incremented)
} OptCfg;
void sgd_update(float *w, float *v, const float *g, size_t n, const OptCfg *o);
void adam_update(float *w, float *m, float *v, const float *g, size_t n, const OptCfg *o);
void apply_velocity(float *w, float *v, size_t n, const OptCfg *o);
void velocity_decay(float *v, float *w, size_t n, float mu, float f, const OptCfg *o);

// ---------------------------------------------------------------- gemm.c
void forward(Net *net, float **W, float **B, const float *x, int rows, float *logits_out, int training, double in_rate,
             double hid_rate, uint32_t seed, uint32_t step);
// The forward pass, loss, backward sweep and update of one training step, after napi.c's checks (scratch ensured).
void train_step(Net *net, float **W, float **B, const float *x, int rows, const int32_t *labels, const float *target,
                const LossCfg *lc, const OptCfg *o, double in_rate, double hid_rate, uint32_t seed, uint32_t dstep,
                float **state, float **grads, double *out);
void sgemm_rowmajor(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                    int ldb, float beta, float *c, int ldc);

#endif
