// Allocation accounting, per-network scratch and the elementwise work pool.
#include "kdasr_native.h"

int64_t g_alloc_bytes = 0;
int64_t g_alloc_count = 0;
int g_ew_threads = 1;
double g_prof_wall[N_PHASES], g_prof_cpu[N_PHASES];

void *xalloc(size_t bytes) {
  if (bytes == 0) bytes = 64;
  void *p = NULL;
  if (posix_memalign(&p, 64, (bytes + 63) & ~(size_t)63) != 0) return NULL;
  g_alloc_bytes += (int64_t)bytes;
  g_alloc_count++;
  return p;
}
void xfree(void *p, size_t bytes) {
  if (!p) return;
  free(p);
  g_alloc_bytes -= (int64_t)(bytes == 0 ? 64 : bytes);
  g_alloc_count--;
}

// ---------------------------------------------------------------- scratch

void net_free_scratch(Net *net) {
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

int net_ensure(Net *net, int rows) {
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

int net_ensure_threads(Net *net, int threads) {
  if (threads <= net->partial_threads && net->partial) return 1;
  xfree(net->partial, net->partial_bytes);
  xfree(net->trow, net->trow_bytes);
  net->partial_bytes = (size_t)threads * net->max_width * sizeof(float);
  net->trow_bytes = (size_t)threads * 2 * net->dims[net->n_layers] * sizeof(float);
  net->partial = xalloc(net->partial_bytes);
  net->trow = xalloc(net->trow_bytes);
  net->partial_threads = threads;
  return net->partial && net->trow;
}

void net_destroy(Net *net) {
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

void parallel_for(chunk_fn fn, void *ctx, size_t n, size_t chunk, size_t work) {
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
size_t row_chunk(int rows) {
  size_t c = (size_t)rows / ((size_t)(g_ew_threads > 0 ? g_ew_threads : 1) * 4);
  return c < 8 ? 8 : c;
}
