// N-API entry points of the native engine: argument checks and conversions, then calls into the kernels.
//
// Layout matches tfjs-layers Dense: kernel W_l is [in, out] row-major, bias [out]; activations are row-major
// [rows, width]. JS owns weights and optimiser state (passed per call as typed arrays: zero-copy); the engine owns
// only scratch (activations, gradient ping-pong buffers), which it counts in g_alloc_bytes for leak tests.
#include "kdasr_native.h"

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

  train_step(net, W, B, x, rows, labels, target, &lc, &o, in_rate, hid_rate, seed, dstep, state, grads, out);
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
  sgemm_rowmajor(ta, tb, m, nn, k, (float)alpha, A, lda, Bm, ldb, (float)beta, Cm, ldc);
  return NULL;
}

// softmaxMean(members: Float32Array[], rowOffset, rows, classes, temperature, geometric, out [rows*classes]):
// the stored-logit ensemble's soft targets from rows [rowOffset, rowOffset + rows) of each member's array
// (distillation's SoftTargetCache fills its rows with it, straight from the stored chunks).
static napi_value js_softmax_mean(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) FAIL("softmaxMean(members, rowOffset, rows, classes, temperature, geometric, out)");
  bool is_array;
  CHECK(napi_is_array(env, argv[0], &is_array));
  if (!is_array) FAIL("softmaxMean: members must be an array of Float32Arrays");
  uint32_t members;
  CHECK(napi_get_array_length(env, argv[0], &members));
  int32_t offset, rows, classes;
  double temperature;
  bool geometric;
  float *out;
  size_t lo;
  CHECK(napi_get_value_int32(env, argv[1], &offset));
  CHECK(napi_get_value_int32(env, argv[2], &rows));
  CHECK(napi_get_value_int32(env, argv[3], &classes));
  CHECK(napi_get_value_double(env, argv[4], &temperature));
  CHECK(napi_get_value_bool(env, argv[5], &geometric));
  if (!get_typed(env, argv[6], napi_float32_array, (void **)&out, &lo)) return NULL;
  if (members < 1 || members > 4096 || offset < 0 || rows < 0 || classes < 1) FAIL("softmaxMean: 1..4096 members, classes >= 1, rowOffset and rows >= 0");
  if (!(temperature > 0) || !isfinite(temperature)) FAIL("softmaxMean: temperature must be a finite number > 0");
  if (lo < (size_t)rows * classes) FAIL("softmaxMean: array too short for the given sizes");
  const float *ptrs[4096];
  for (uint32_t i = 0; i < members; i++) {
    napi_value el;
    float *z;
    size_t lz;
    CHECK(napi_get_element(env, argv[0], i, &el));
    if (!get_typed(env, el, napi_float32_array, (void **)&z, &lz)) return NULL;
    if (lz < ((size_t)offset + rows) * classes) FAIL("softmaxMean: array too short for the given sizes");
    ptrs[i] = z + (size_t)offset * classes;
  }
  if (rows > 0 && !softmax_mean(ptrs, (int)members, rows, classes, temperature, geometric, out)) FAIL("softmaxMean: out of memory");
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
      {"softmaxMean", NULL, js_softmax_mean, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, js_set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"info", NULL, js_info, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

