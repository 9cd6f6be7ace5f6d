// Native training/inference kernels for dense ReLU frame classifiers (@kdasr/native).
//
// Why C and not op-by-op: a training step is ~6 sgemm calls per layer plus elementwise work; in op-by-op engines
// the elementwise part (bias, ReLU, dropout, softmax-CE gradient, optimiser update) costs several memory passes
// each. Here each of those is one fused pass, and momentum SGD folds the weight gradient into the velocity
// through sgemm's beta (v = A^T dZ + mu v), so no gradient buffer is written or read for it.
//
// Layout matches tfjs-layers Dense: kernel W_l is [in, out] row-major, bias [out]; activations are row-major
// [rows, width]. JS owns weights and optimiser state (passed per call as typed arrays: zero-copy); this file owns
// only scratch (activations, gradient ping-pong buffers), which it counts in g_alloc_bytes for leak tests.
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

static int64_t g_alloc_bytes = 0;
static int64_t g_alloc_count = 0;
static int g_ew_threads = 1;  // threads for the elementwise passes (the pool below, not OpenMP)

// Per-phase time of training steps (wall and calling-thread CPU, ns), read by info(): where a step goes, without
// a profiler. Phases: forward gemm, forward elementwise, loss, backward dA gemm, dW gemm, ReLU backward, update.
#define N_PHASES 7
static double g_prof_wall[N_PHASES], g_prof_cpu[N_PHASES];
static double now_ns(clockid_t c) {
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

static void *xalloc(size_t bytes) {
  if (bytes == 0) bytes = 64;
  void *p = NULL;
  if (posix_memalign(&p, 64, (bytes + 63) & ~(size_t)63) != 0) return NULL;
  g_alloc_bytes += (int64_t)bytes;
  g_alloc_count++;
  return p;
}
static void xfree(void *p, size_t bytes) {
  if (!p) return;
  free(p);
  g_alloc_bytes -= (int64_t)(bytes == 0 ? 64 : bytes);
  g_alloc_count--;
}

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
  float *trow;               // per-thread teacher-probability row, threads * classes
  size_t trow_bytes;
  int partial_threads;
} Net;

// ---------------------------------------------------------------- math helpers

// Cephes-style expf: ~1 ulp, branch-free so that `omp simd` vectorises it (glibc's vector expf needs -ffast-math).
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

// ---------------------------------------------------------------- scratch

static void net_free_scratch(Net *net) {
  for (int l = 0; l <= net->n_layers; l++) {
    xfree(net->act[l], net->act_bytes[l]);
    net->act[l] = NULL;
    net->act_bytes[l] = 0;
  }
  xfree(net->dz[0], net->dz_bytes);
  xfree(net->dz[1], net->dz_bytes);
  net->dz[0] = net->dz[1] = NULL;
  net->dz_bytes = 0;
  net->cap = 0;
}

static int net_ensure(Net *net, int rows) {
  if (rows <= net->cap) return 1;
  net_free_scratch(net);
  for (int l = 0; l <= net->n_layers; l++) {
    net->act_bytes[l] = (size_t)rows * net->dims[l] * sizeof(float);
    net->act[l] = xalloc(net->act_bytes[l]);
    if (!net->act[l]) return 0;
  }
  net->dz_bytes = (size_t)rows * net->max_all * sizeof(float);
  net->dz[0] = xalloc(net->dz_bytes);
  net->dz[1] = xalloc(net->dz_bytes);
  if (!net->dz[0] || !net->dz[1]) return 0;
  net->cap = rows;
  return 1;
}

static int net_ensure_threads(Net *net, int threads) {
  if (threads <= net->partial_threads && net->partial) return 1;
  xfree(net->partial, net->partial_bytes);
  xfree(net->trow, net->trow_bytes);
  net->partial_bytes = (size_t)threads * net->max_width * sizeof(float);
  net->trow_bytes = (size_t)threads * net->dims[net->n_layers] * sizeof(float);
  net->partial = xalloc(net->partial_bytes);
  net->trow = xalloc(net->trow_bytes);
  net->partial_threads = threads;
  return net->partial && net->trow;
}

static void net_destroy(Net *net) {
  if (!net) return;
  net_free_scratch(net);
  xfree(net->gw, net->gw_bytes);
  xfree(net->gb, (size_t)net->max_width * sizeof(float));
  xfree(net->partial, net->partial_bytes);
  xfree(net->trow, net->trow_bytes);
  xfree(net, sizeof(Net));
}

// ---------------------------------------------------------------- work-sharing pool for elementwise passes
//
// Why not OpenMP: with OpenBLAS (pthreads) and OpenMP both holding a worker on 2 cores, every parallel region
// ends in a join that waits for the OpenMP worker; on a busy machine that worker is often not scheduled and the
// join costs a time slice (measured: forward elementwise 0.15 ms/step on one thread, 9 ms with OpenMP(2) under
// load). Here chunks are claimed from an atomic counter and the calling thread waits only for chunks a worker
// has actually claimed: a worker that has not woken up yet costs nothing, so the worst case is one thread.
// Workers sleep on a condition variable between regions, so they never spin against OpenBLAS's gemm threads.

#define MAX_THREADS 64
typedef void (*chunk_fn)(void *ctx, size_t begin, size_t end, int tid);

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  _Atomic uint64_t claim;  // (generation << 32) | next chunk
  _Atomic uint32_t done;   // chunks finished in the current generation
  uint32_t gen;            // guarded by mu
  chunk_fn fn;             // job, guarded by mu
  void *ctx;
  size_t n, chunk;
  uint32_t nchunks;
  int workers;             // started worker threads (ids 1..workers)
} g_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, NULL, NULL, 0, 0, 0, 0};
static _Atomic int g_pool_busy = 0;  // a second JS thread using the addon at the same time runs inline

static void pool_run_chunks(uint32_t gen, chunk_fn fn, void *ctx, size_t n, size_t chunk, uint32_t nchunks, int tid) {
  for (;;) {
    uint64_t c = atomic_load(&g_pool.claim);
    uint32_t idx;
    for (;;) {
      if ((uint32_t)(c >> 32) != gen) return;
      idx = (uint32_t)c;
      if (idx >= nchunks) return;
      if (atomic_compare_exchange_weak(&g_pool.claim, &c, c + 1)) break;
    }
    size_t b = (size_t)idx * chunk, e = b + chunk < n ? b + chunk : n;
    fn(ctx, b, e, tid);
    atomic_fetch_add(&g_pool.done, 1);
  }
}

static void *pool_worker(void *arg) {
  const int tid = (int)(intptr_t)arg;
  uint32_t seen = 0;
  pthread_mutex_lock(&g_pool.mu);
  seen = g_pool.gen;
  for (;;) {
    while (g_pool.gen == seen) pthread_cond_wait(&g_pool.cv, &g_pool.mu);
    seen = g_pool.gen;
    chunk_fn fn = g_pool.fn;
    void *ctx = g_pool.ctx;
    size_t n = g_pool.n, chunk = g_pool.chunk;
    uint32_t nchunks = g_pool.nchunks;
    int active = tid < g_ew_threads;
    pthread_mutex_unlock(&g_pool.mu);
    if (active) pool_run_chunks(seen, fn, ctx, n, chunk, nchunks, tid);
    pthread_mutex_lock(&g_pool.mu);
  }
  return NULL;
}

// Runs fn over [0, n) in chunks of `chunk`; inline when small, single-threaded, or the pool is in use.
static void parallel_for(chunk_fn fn, void *ctx, size_t n, size_t chunk, size_t work) {
  const int threads = g_ew_threads;
  int expected = 0;
  if (threads <= 1 || work < PAR_MIN || n <= chunk || !atomic_compare_exchange_strong(&g_pool_busy, &expected, 1)) {
    if (n > 0) fn(ctx, 0, n, 0);
    return;
  }
  pthread_mutex_lock(&g_pool.mu);
  while (g_pool.workers < threads - 1 && g_pool.workers < MAX_THREADS - 1) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int ok = pthread_create(&t, &attr, pool_worker, (void *)(intptr_t)(g_pool.workers + 1)) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) break;
    g_pool.workers++;
  }
  const uint32_t nchunks = (uint32_t)((n + chunk - 1) / chunk);
  const uint32_t gen = ++g_pool.gen;
  g_pool.fn = fn;
  g_pool.ctx = ctx;
  g_pool.n = n;
  g_pool.chunk = chunk;
  g_pool.nchunks = nchunks;
  atomic_store(&g_pool.done, 0);
  atomic_store(&g_pool.claim, (uint64_t)gen << 32);
  pthread_cond_broadcast(&g_pool.cv);
  pthread_mutex_unlock(&g_pool.mu);
  pool_run_chunks(gen, fn, ctx, n, chunk, nchunks, 0);
  // Only chunks a worker claimed and is still running remain.
  for (unsigned spins = 0; atomic_load(&g_pool.done) < nchunks; spins++)
    if (spins > 64) sched_yield();
  atomic_store(&g_pool_busy, 0);
}

// Chunk size for `rows` rows: about 4 chunks per thread so a late worker leaves little to wait for.
static size_t row_chunk(int rows) {
  size_t c = (size_t)rows / ((size_t)(g_ew_threads > 0 ? g_ew_threads : 1) * 4);
  return c < 8 ? 8 : c;
}
#define FLAT_CHUNK ((size_t)16384)

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
static void bias_act(float *out, const float *b, int rows, int cols, int relu, double rate, uint32_t seed,
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
static void input_dropout(float *dst, const float *src, int rows, int cols, double rate, uint32_t seed, uint32_t step) {
  DropCtx k = {dst, src, cols, drop_threshold(rate), seed, step, (float)(1.0 / (1.0 - rate))};
  parallel_for(input_dropout_rows, &k, (size_t)rows, row_chunk(rows), (size_t)rows * cols);
}

// Column partial sums per participating thread (bias gradients): each thread zeroes its row of `partial` the
// first time it runs a chunk of the current pass, and the caller adds up the rows that were used.
typedef struct {
  float *partial;
  int cols;
  int used[MAX_THREADS];
} Partials;

static float *partials_for(Partials *p, int tid) {
  float *ps = p->partial + (size_t)tid * p->cols;
  if (!p->used[tid]) {
    memset(ps, 0, (size_t)p->cols * sizeof(float));
    p->used[tid] = 1;
  }
  return ps;
}

static void partials_reduce(const Partials *p, float *restrict gb) {
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
static void relu_back_colsum(Net *net, float *dz, const float *a, int rows, int cols, double rate, float *gb) {
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

typedef struct {
  int target_kind;     // 0 none, 1 teacher probabilities, 2 teacher logits (softened at T), 3 logit matching
  int kl;              // soft term reported as KL instead of cross-entropy (same gradient)
  double temperature;
  double soft_weight;  // includes the T^2 scale when requested
  double hard_weight;
} LossCfg;

typedef struct {
  Partials part;
  const float *logits;
  float *dz;
  const int32_t *labels;  // NULL when the hard term is off
  const float *target;
  float *trow;            // per-thread teacher-probability rows
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
  float *restrict prow = k->trow + (size_t)tid * classes;
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
      const float mT = m * invT;
      float sT = 0;
#pragma omp simd reduction(+ : sT)
      for (int c = 0; c < classes; c++) sT += exp_approx(z[c] * invT - mT);
      const float lseT = mT + logf(sT);
      const float *restrict pp = tg;
      float lseV = 0;
      if (cfg->target_kind == 2) {
        float mv = -INFINITY;
#pragma omp simd reduction(max : mv)
        for (int c = 0; c < classes; c++) mv = tg[c] > mv ? tg[c] : mv;
        const float mvT = mv * invT;
        float sv = 0;
#pragma omp simd reduction(+ : sv)
        for (int c = 0; c < classes; c++) {
          float e = exp_approx(tg[c] * invT - mvT);
          prow[c] = e;
          sv += e;
        }
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
        float q = exp_approx(zt - mT) * invS;
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
static void loss_grad(Net *net, const float *logits, float *dz, int rows, int classes, const int32_t *labels,
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

typedef struct {
  int kind;  // 0 gradients only, 1 SGD, 2 Adam
  float lr, momentum, dampening, weight_decay;
  int nesterov;
  int first;  // first SGD step: PyTorch starts the buffer at g without dampening
  float beta1, beta2, eps;
  double step;  // Adam step count t (already incremented)
} OptCfg;

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

static void sgd_update(float *w, float *v, const float *g, size_t n, const OptCfg *o) {
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
static void adam_update(float *w, float *m, float *v, const float *g, size_t n, const OptCfg *o) {
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
static void apply_velocity(float *w, float *v, size_t n, const OptCfg *o) {
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
static void velocity_decay(float *v, float *w, size_t n, float mu, float f, const OptCfg *o) {
  UpdCtx k = {w, v, NULL, NULL, o, f, mu, 0, 0};
  parallel_for(decay_chunk, &k, n, FLAT_CHUNK, n * 3);
}


// ---------------------------------------------------------------- forward

static void forward(Net *net, float **W, float **B, const float *x, int rows, float *logits_out, int training,
                    double in_rate, double hid_rate, uint32_t seed, uint32_t step) {
  const int L = net->n_layers;
  const float *a = x;
  if (training && in_rate > 0) {
    PROF(1, input_dropout(net->act[0], x, rows, net->dims[0], in_rate, seed, step));
    a = net->act[0];
  }
  for (int l = 0; l < L; l++) {
    const int din = net->dims[l], dout = net->dims[l + 1];
    const int last = l == L - 1;
    float *o = (last && logits_out) ? logits_out : net->act[l + 1];
    PROF(0, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, dout, din, 1.0f, a, din, W[l], dout, 0.0f, o, dout));
    PROF(1, bias_act(o, B[l], rows, dout, !last, (training && !last) ? hid_rate : 0.0, seed, step, (uint32_t)(l + 1)));
    a = o;
  }
}

// ---------------------------------------------------------------- N-API plumbing

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, NULL, "kdasr_native: N-API call failed: " #call); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)
#define FAIL(msg)                              \
  do {                                         \
    napi_throw_error(env, NULL, "kdasr_native: " msg); \
    return NULL;                               \
  } while (0)

static int is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return 1;
  return t == napi_null || t == napi_undefined;
}

// Typed array of an expected element type; *len in elements. Returns 0 (and throws) on a type mismatch.
static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) {
    napi_throw_type_error(env, NULL, "kdasr_native: expected a typed array");
    return 0;
  }
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, data, &ab, &off) != napi_ok || type != want) {
    napi_throw_type_error(env, NULL,
                          want == napi_float32_array ? "kdasr_native: expected a Float32Array"
                          : want == napi_int32_array ? "kdasr_native: expected an Int32Array"
                                                     : "kdasr_native: expected a Float64Array");
    return 0;
  }
  return 1;
}

static Net *get_net(napi_env env, napi_value v) {
  Net *net = NULL;
  if (napi_get_value_external(env, v, (void **)&net) != napi_ok || !net) {
    napi_throw_type_error(env, NULL, "kdasr_native: expected a network handle");
    return NULL;
  }
  if (net->n_layers <= 0) {
    napi_throw_error(env, NULL, "kdasr_native: network handle was destroyed");
    return NULL;
  }
  return net;
}

// params: JS array [W0, b0, W1, b1, ...] of Float32Arrays with the exact sizes of the network.
static int get_params(napi_env env, Net *net, napi_value arr, float **W, float **B) {
  uint32_t len;
  if (napi_get_array_length(env, arr, &len) != napi_ok || len != (uint32_t)(2 * net->n_layers)) {
    napi_throw_error(env, NULL, "kdasr_native: params must be an array [W0, b0, W1, b1, ...]");
    return 0;
  }
  for (int l = 0; l < net->n_layers; l++) {
    napi_value w, b;
    size_t lw, lb;
    if (napi_get_element(env, arr, 2 * l, &w) != napi_ok || napi_get_element(env, arr, 2 * l + 1, &b) != napi_ok) return 0;
    if (!get_typed(env, w, napi_float32_array, (void **)&W[l], &lw)) return 0;
    if (!get_typed(env, b, napi_float32_array, (void **)&B[l], &lb)) return 0;
    if (lw != (size_t)net->dims[l] * net->dims[l + 1] || lb != (size_t)net->dims[l + 1]) {
      napi_throw_error(env, NULL, "kdasr_native: a parameter array has the wrong length");
      return 0;
    }
  }
  return 1;
}

// A list of Float32Arrays with lengths matching params, `per` arrays per parameter (SGD 1, Adam 2, grads 1).
static int get_param_like(napi_env env, Net *net, napi_value arr, int per, float **out) {
  uint32_t len;
  if (napi_get_array_length(env, arr, &len) != napi_ok || len != (uint32_t)(2 * net->n_layers * per)) {
    napi_throw_error(env, NULL, "kdasr_native: optimiser state / gradient list has the wrong number of arrays");
    return 0;
  }
  for (uint32_t i = 0; i < len; i++) {
    napi_value v;
    size_t n;
    if (napi_get_element(env, arr, i, &v) != napi_ok) return 0;
    if (!get_typed(env, v, napi_float32_array, (void **)&out[i], &n)) return 0;
    int p = (int)(i / per), l = p / 2;
    size_t want = (p % 2 == 0) ? (size_t)net->dims[l] * net->dims[l + 1] : (size_t)net->dims[l + 1];
    if (n != want) {
      napi_throw_error(env, NULL, "kdasr_native: an optimiser state / gradient array has the wrong length");
      return 0;
    }
  }
  return 1;
}

static void finalize_net(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  net_destroy((Net *)data);
}

// create(dims: Int32Array) -> handle
static napi_value js_create(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) FAIL("create(dims) needs dims");
  int32_t *dims;
  size_t nd;
  if (!get_typed(env, argv[0], napi_int32_array, (void **)&dims, &nd)) return NULL;
  if (nd < 2 || nd > MAX_LAYERS + 1) FAIL("dims must have 2..33 entries");
  Net *net = xalloc(sizeof(Net));
  if (!net) FAIL("out of memory");
  memset(net, 0, sizeof(Net));
  net->n_layers = (int)nd - 1;
  for (size_t i = 0; i < nd; i++) {
    if (dims[i] <= 0) {
      xfree(net, sizeof(Net));
      FAIL("dims must be positive");
    }
    net->dims[i] = dims[i];
    if (dims[i] > net->max_all) net->max_all = dims[i];
    if (i > 0 && dims[i] > net->max_width) net->max_width = dims[i];
    if (i > 0 && (size_t)dims[i - 1] * dims[i] > net->max_weights) net->max_weights = (size_t)dims[i - 1] * dims[i];
  }
  net->gb = xalloc((size_t)net->max_width * sizeof(float));
  napi_value ext;
  CHECK(napi_create_external(env, net, finalize_net, NULL, &ext));
  return ext;
}

// release(handle): frees the scratch now (the handle becomes unusable); the finaliser frees the struct.
static napi_value js_release(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Net *net = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&net) != napi_ok || !net) FAIL("release(handle)");
  net_free_scratch(net);
  xfree(net->gw, net->gw_bytes);
  net->gw = NULL;
  net->gw_bytes = 0;
  xfree(net->partial, net->partial_bytes);
  xfree(net->trow, net->trow_bytes);
  net->partial = net->trow = NULL;
  net->partial_bytes = net->trow_bytes = 0;
  net->partial_threads = 0;
  net->n_layers = -net->n_layers;  // marks destroyed; the finaliser frees gb and the struct later
  return NULL;
}

// forward(handle, params, x: Float32Array, rows, out: Float32Array) -> undefined. Inference (no dropout).
static napi_value js_forward(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) FAIL("forward(handle, params, x, rows, out)");
  Net *net = get_net(env, argv[0]);
  if (!net) return NULL;
  float *W[MAX_LAYERS], *B[MAX_LAYERS];
  if (!get_params(env, net, argv[1], W, B)) return NULL;
  float *x, *out;
  size_t nx, nout;
  int32_t rows;
  if (!get_typed(env, argv[2], napi_float32_array, (void **)&x, &nx)) return NULL;
  CHECK(napi_get_value_int32(env, argv[3], &rows));
  if (!get_typed(env, argv[4], napi_float32_array, (void **)&out, &nout)) return NULL;
  const int L = net->n_layers, din = net->dims[0], C = net->dims[L];
  if (rows < 0 || nx < (size_t)rows * din || nout < (size_t)rows * C) FAIL("forward: x or out too short for rows");
  // Chunks bound the scratch; 4096 rows keep a chunk's activations within a few tens of MB for wide nets.
  const int chunk = rows < 4096 ? rows : 4096;
  if (chunk > 0 && !net_ensure(net, chunk)) FAIL("out of memory");
  if (!net_ensure_threads(net, g_ew_threads)) FAIL("out of memory");
  for (int r0 = 0; r0 < rows; r0 += chunk) {
    int nr = rows - r0 < chunk ? rows - r0 : chunk;
    forward(net, W, B, x + (size_t)r0 * din, nr, out + (size_t)r0 * C, 0, 0, 0, 0, 0);
  }
  return NULL;
}

// step(handle, params, x, rows, labels|null, target|null, cfg: Float64Array, state: Float32Array[]|null,
//      grads: Float32Array[]|null, out: Float64Array)
// cfg: [0] opt kind (0 grads, 1 sgd, 2 adam), [1] target kind, [2] T, [3] soft weight incl. T^2, [4] hard weight,
//      [5] kl, [6] lr, [7] momentum, [8] dampening, [9] weight decay, [10] nesterov, [11] first sgd step,
//      [12] beta1, [13] beta2, [14] eps, [15] adam t, [16] input dropout, [17] hidden dropout, [18] seed,
//      [19] dropout step
static napi_value js_step(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 10) FAIL("step(handle, params, x, rows, labels, target, cfg, state, grads, out)");
  Net *net = get_net(env, argv[0]);
  if (!net) return NULL;
  const int L = net->n_layers, din = net->dims[0], C = net->dims[L];
  float *W[MAX_LAYERS], *B[MAX_LAYERS];
  if (!get_params(env, net, argv[1], W, B)) return NULL;
  float *x;
  size_t nx;
  int32_t rows;
  if (!get_typed(env, argv[2], napi_float32_array, (void **)&x, &nx)) return NULL;
  CHECK(napi_get_value_int32(env, argv[3], &rows));
  if (rows <= 0 || nx < (size_t)rows * din) FAIL("step: x too short for rows");
  int32_t *labels = NULL;
  float *target = NULL;
  size_t n;
  if (!is_nullish(env, argv[4])) {
    if (!get_typed(env, argv[4], napi_int32_array, (void **)&labels, &n)) return NULL;
    if (n < (size_t)rows) FAIL("step: labels too short");
    for (int r = 0; r < rows; r++)
      if (labels[r] < -1 || labels[r] >= C) FAIL("step: a label is outside [-1, classes)");
  }
  if (!is_nullish(env, argv[5])) {
    if (!get_typed(env, argv[5], napi_float32_array, (void **)&target, &n)) return NULL;
    if (n < (size_t)rows * C) FAIL("step: teacher target too short");
  }
  double *cfg;
  if (!get_typed(env, argv[6], napi_float64_array, (void **)&cfg, &n)) return NULL;
  if (n < 20) FAIL("step: cfg too short");
  double *out;
  if (!get_typed(env, argv[9], napi_float64_array, (void **)&out, &n)) return NULL;
  if (n < 4) FAIL("step: out too short");

  OptCfg o;
  memset(&o, 0, sizeof o);
  o.kind = (int)cfg[0];
  o.lr = (float)cfg[6];
  o.momentum = (float)cfg[7];
  o.dampening = (float)cfg[8];
  o.weight_decay = (float)cfg[9];
  o.nesterov = cfg[10] != 0;
  o.first = cfg[11] != 0;
  o.beta1 = (float)cfg[12];
  o.beta2 = (float)cfg[13];
  o.eps = (float)cfg[14];
  o.step = cfg[15];
  LossCfg lc = {(int)cfg[1], cfg[5] != 0, cfg[2], cfg[3], cfg[4]};
  if (lc.target_kind != 0 && !target) FAIL("step: target kind set but no target array");
  if (!(lc.temperature > 0)) FAIL("step: temperature must be > 0");
  const double in_rate = cfg[16], hid_rate = cfg[17];
  const uint32_t seed = (uint32_t)cfg[18], dstep = (uint32_t)cfg[19];

  float *state[4 * MAX_LAYERS], *grads[2 * MAX_LAYERS];
  if (o.kind == 1 || o.kind == 2) {
    if (is_nullish(env, argv[7])) FAIL("step: optimiser state missing");
    if (!get_param_like(env, net, argv[7], o.kind == 2 ? 2 : 1, state)) return NULL;
  } else if (o.kind == 0) {
    if (is_nullish(env, argv[8])) FAIL("step: gradient arrays missing");
    if (!get_param_like(env, net, argv[8], 1, grads)) return NULL;
  } else {
    FAIL("step: unknown optimiser kind");
  }
  if (!net_ensure(net, rows)) FAIL("out of memory");
  if (!net_ensure_threads(net, g_ew_threads)) FAIL("out of memory");
  // Momentum SGD without Nesterov writes the gradient straight into the velocity; the rest need a scratch.
  const int fused_sgd = o.kind == 1 && o.momentum != 0.0f && !o.nesterov;
  if ((o.kind == 2 || (o.kind == 1 && !fused_sgd)) && !net->gw) {
    net->gw_bytes = net->max_weights * sizeof(float);
    net->gw = xalloc(net->gw_bytes);
    if (!net->gw) FAIL("out of memory");
  }

  forward(net, W, B, x, rows, NULL, 1, in_rate, hid_rate, seed, dstep);
  const float *a0 = in_rate > 0 ? net->act[0] : x;
  int cur = 0;
  PROF(2, loss_grad(net, net->act[L], net->dz[cur], rows, C, labels, target, &lc, net->gb, out));

  for (int l = L - 1; l >= 0; l--) {
    const int dl = net->dims[l], dout = net->dims[l + 1];
    const float *a = l == 0 ? a0 : net->act[l];
    float *dzc = net->dz[cur];
    // The bias gradient of layer l sits in net->gb (from the loss pass or the previous relu_back_colsum); it is
    // consumed below before relu_back_colsum for layer l-1 overwrites it.
    const float *gbl = net->gb;
    // dA_{l} = dZ W_l^T first: it needs W_l before the update.
    float *dzn = NULL;
    if (l > 0) {
      dzn = net->dz[1 - cur];
      PROF(3, cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, dl, dout, 1.0f, dzc, dout, W[l], dout, 0.0f, dzn, dl));
    }
    const size_t nw = (size_t)dl * dout;
    // weights
    if (o.kind == 0) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dl, dout, rows, 1.0f, a, dl, dzc, dout, 0.0f, grads[2 * l], dout);
      memcpy(grads[2 * l + 1], gbl, (size_t)dout * sizeof(float));
    } else if (fused_sgd) {
      float *v = state[2 * l];
      float alpha = o.first ? 1.0f : 1.0f - o.dampening;
      float beta = o.first ? 0.0f : o.momentum;
      if (o.weight_decay != 0.0f) {
        velocity_decay(v, W[l], nw, beta, alpha * o.weight_decay, &o);
        beta = 1.0f;
      }
      PROF(4, cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dl, dout, rows, alpha, a, dl, dzc, dout, beta, v, dout));
      PROF(6, apply_velocity(W[l], v, nw, &o); sgd_update(B[l], state[2 * l + 1], gbl, (size_t)dout, &o));
    } else if (o.kind == 1) {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dl, dout, rows, 1.0f, a, dl, dzc, dout, 0.0f, net->gw, dout);
      sgd_update(W[l], state[2 * l], net->gw, nw, &o);
      sgd_update(B[l], state[2 * l + 1], gbl, (size_t)dout, &o);
    } else {
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dl, dout, rows, 1.0f, a, dl, dzc, dout, 0.0f, net->gw, dout);
      adam_update(W[l], state[4 * l], state[4 * l + 1], net->gw, nw, &o);
      adam_update(B[l], state[4 * l + 2], state[4 * l + 3], gbl, (size_t)dout, &o);
    }
    if (l > 0) {
      PROF(5, relu_back_colsum(net, dzn, net->act[l], rows, dl, hid_rate, net->gb));
      cur = 1 - cur;
    }
  }
  return NULL;
}

// dropoutMask(seed, step, layer, rows, cols, rate) -> Uint8Array (1 = kept). Lets tests rebuild the masks.
static napi_value js_dropout_mask(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) FAIL("dropoutMask(seed, step, layer, rows, cols, rate)");
  uint32_t seed, step, layer;
  int32_t rows, cols;
  double rate;
  CHECK(napi_get_value_uint32(env, argv[0], &seed));
  CHECK(napi_get_value_uint32(env, argv[1], &step));
  CHECK(napi_get_value_uint32(env, argv[2], &layer));
  CHECK(napi_get_value_int32(env, argv[3], &rows));
  CHECK(napi_get_value_int32(env, argv[4], &cols));
  CHECK(napi_get_value_double(env, argv[5], &rate));
  if (rows < 0 || cols < 0) FAIL("dropoutMask: negative size");
  napi_value ab, arr;
  void *data;
  size_t n = (size_t)rows * cols;
  CHECK(napi_create_arraybuffer(env, n, &data, &ab));
  CHECK(napi_create_typedarray(env, napi_uint8_array, n, ab, 0, &arr));
  uint8_t *m = data;
  const uint32_t thr = drop_threshold(rate);
  for (int r = 0; r < rows; r++) {
    uint32_t key = row_key(seed, step, layer, (uint32_t)r);
    for (int c = 0; c < cols; c++) m[(size_t)r * cols + c] = mix32((uint32_t)c ^ key) >= thr;
  }
  return arr;
}

// sgemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc): raw row-major cblas_sgemm, for the
// benchmark's reference rate and for tests.
static napi_value js_sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 13) FAIL("sgemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)");
  bool ta, tb;
  int32_t m, nn, k, lda, ldb, ldc;
  double alpha, beta;
  float *A, *Bm, *Cm;
  size_t la, lb, lc;
  CHECK(napi_get_value_bool(env, argv[0], &ta));
  CHECK(napi_get_value_bool(env, argv[1], &tb));
  CHECK(napi_get_value_int32(env, argv[2], &m));
  CHECK(napi_get_value_int32(env, argv[3], &nn));
  CHECK(napi_get_value_int32(env, argv[4], &k));
  CHECK(napi_get_value_double(env, argv[5], &alpha));
  if (!get_typed(env, argv[6], napi_float32_array, (void **)&A, &la)) return NULL;
  CHECK(napi_get_value_int32(env, argv[7], &lda));
  if (!get_typed(env, argv[8], napi_float32_array, (void **)&Bm, &lb)) return NULL;
  CHECK(napi_get_value_int32(env, argv[9], &ldb));
  CHECK(napi_get_value_double(env, argv[10], &beta));
  if (!get_typed(env, argv[11], napi_float32_array, (void **)&Cm, &lc)) return NULL;
  CHECK(napi_get_value_int32(env, argv[12], &ldc));
  if (m < 0 || nn < 0 || k < 0) FAIL("sgemm: negative size");
  size_t need_a = ta ? (size_t)k * lda : (size_t)m * lda;
  size_t need_b = tb ? (size_t)nn * ldb : (size_t)k * ldb;
  if (la < need_a || lb < need_b || lc < (size_t)m * ldc || lda < (ta ? m : k) || ldb < (tb ? k : nn) || ldc < nn)
    FAIL("sgemm: array too short for the given sizes");
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, nn, k, (float)alpha, A,
              lda, Bm, ldb, (float)beta, Cm, ldc);
  return NULL;
}

// setThreads(blas, elementwise)
static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t blas = 0, ew = 0;
  if (argc >= 1) CHECK(napi_get_value_int32(env, argv[0], &blas));
  if (argc >= 2) CHECK(napi_get_value_int32(env, argv[1], &ew));
  if (blas > 0) openblas_set_num_threads(blas);
  if (ew > 0) g_ew_threads = ew > MAX_THREADS ? MAX_THREADS : ew;
  return NULL;
}

static napi_value make_num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}
static napi_value make_str(napi_env env, const char *s) {
  napi_value r;
  napi_create_string_utf8(env, s ? s : "", NAPI_AUTO_LENGTH, &r);
  return r;
}

// info() -> { blasThreads, elementwiseThreads, maxThreads, openblasConfig, openblasCore, allocatedBytes, allocations }
static napi_value js_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value o;
  CHECK(napi_create_object(env, &o));
  napi_set_named_property(env, o, "blasThreads", make_num(env, openblas_get_num_threads()));
  napi_set_named_property(env, o, "elementwiseThreads", make_num(env, g_ew_threads));
  napi_set_named_property(env, o, "maxThreads", make_num(env, (double)sysconf(_SC_NPROCESSORS_ONLN)));
  napi_set_named_property(env, o, "openblasConfig", make_str(env, openblas_get_config()));
  napi_set_named_property(env, o, "openblasCore", make_str(env, openblas_get_corename()));
  napi_set_named_property(env, o, "allocatedBytes", make_num(env, (double)g_alloc_bytes));
  napi_set_named_property(env, o, "allocations", make_num(env, (double)g_alloc_count));
  napi_value pw, pc;
  napi_create_array_with_length(env, N_PHASES, &pw);
  napi_create_array_with_length(env, N_PHASES, &pc);
  for (int i = 0; i < N_PHASES; i++) {
    napi_set_element(env, pw, i, make_num(env, g_prof_wall[i] / 1e6));
    napi_set_element(env, pc, i, make_num(env, g_prof_cpu[i] / 1e6));
  }
  napi_set_named_property(env, o, "phaseWallMs", pw);
  napi_set_named_property(env, o, "phaseCpuMs", pc);
  return o;
}

static napi_value init(napi_env env, napi_value exports) {
  long procs = sysconf(_SC_NPROCESSORS_ONLN);
  g_ew_threads = procs < 1 ? 1 : procs > MAX_THREADS ? MAX_THREADS : (int)procs;
  napi_property_descriptor props[] = {
      {"create", NULL, js_create, NULL, NULL, NULL, napi_default, NULL},
      {"release", NULL, js_release, NULL, NULL, NULL, napi_default, NULL},
      {"forward", NULL, js_forward, NULL, NULL, NULL, napi_default, NULL},
      {"step", NULL, js_step, NULL, NULL, NULL, napi_default, NULL},
      {"dropoutMask", NULL, js_dropout_mask, NULL, NULL, NULL, napi_default, NULL},
      {"sgemm", NULL, js_sgemm, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, js_set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
