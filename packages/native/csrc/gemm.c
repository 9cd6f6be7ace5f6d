// The sgemm-based passes (OpenBLAS): the forward pass, the backward sweep and update of a training step, and a raw
// row-major sgemm for the benchmark's reference rate.
//
// Why C and not op-by-op: a training step is ~6 sgemm calls per layer plus elementwise work; in op-by-op engines
// the elementwise part (bias, ReLU, dropout, softmax-CE gradient, optimiser update) costs several memory passes
// each. Here each of those is one fused pass, and momentum SGD folds the weight gradient into the velocity
// through sgemm's beta (v = A^T dZ + mu v), so no gradient buffer is written or read for it.
#include "kdasr_native.h"

void forward(Net *net, float **W, float **B, const float *x, int rows, float *logits_out, int training,
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

void train_step(Net *net, float **W, float **B, const float *x, int rows, const int32_t *labels, const float *target,
                const LossCfg *lc, const OptCfg *o, double in_rate, double hid_rate, uint32_t seed, uint32_t dstep,
                float **state, float **grads, double *out) {
  const int L = net->n_layers, C = net->dims[L];
  const int fused_sgd = o->kind == 1 && o->momentum != 0.0f && !o->nesterov;
  forward(net, W, B, x, rows, NULL, 1, in_rate, hid_rate, seed, dstep);
  const float *a0 = in_rate > 0 ? net->act[0] : x;
  int cur = 0;
  PROF(2, loss_grad(net, net->act[L], net->dz[cur], rows, C, labels, target, lc, net->gb, out));

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
    if (o->kind == 0) {
      PROF(4, cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dl, dout, rows, 1.0f, a, dl, dzc, dout, 0.0f, grads[2 * l], dout));
      memcpy(grads[2 * l + 1], gbl, (size_t)dout * sizeof(float));
    } else if (fused_sgd) {
      float *v = state[2 * l];
      float alpha = o->first ? 1.0f : 1.0f - o->dampening;
      float beta = o->first ? 0.0f : o->momentum;
      if (o->weight_decay != 0.0f) {
        velocity_decay(v, W[l], nw, beta, alpha * o->weight_decay, o);
        beta = 1.0f;
      }
      PROF(4, cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dl, dout, rows, alpha, a, dl, dzc, dout, beta, v, dout));
      PROF(6, apply_velocity(W[l], v, nw, o); sgd_update(B[l], state[2 * l + 1], gbl, (size_t)dout, o));
    } else {
      // SGD with Nesterov or without momentum, and Adam: the weight gradient goes through the scratch.
      PROF(4, cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dl, dout, rows, 1.0f, a, dl, dzc, dout, 0.0f, net->gw, dout));
      if (o->kind == 1)
        PROF(6, sgd_update(W[l], state[2 * l], net->gw, nw, o); sgd_update(B[l], state[2 * l + 1], gbl, (size_t)dout, o));
      else
        PROF(6, adam_update(W[l], state[4 * l], state[4 * l + 1], net->gw, nw, o);
             adam_update(B[l], state[4 * l + 2], state[4 * l + 3], gbl, (size_t)dout, o));
    }
    if (l > 0) {
      PROF(5, relu_back_colsum(net, dzn, net->act[l], rows, dl, hid_rate, net->gb));
      cur = 1 - cur;
    }
  }
}

void sgemm_rowmajor(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                    int ldb, float beta, float *c, int ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
              lda, b, ldb, beta, c, ldc);
}
