#!/usr/bin/python3
"""Golden fixtures for @kdasr/distillation, computed with PyTorch in float64 from float32 inputs.

Run from the repository root:  /usr/bin/python3 tools/golden/distillation.py
(Debian's python3-torch; the pyenv `python3` on PATH has no torch.)

Writes packages/distillation/src/__fixtures__/distillation-golden.{json,bin}: the JSON holds the cases and scalar
results, the .bin every array as little-endian float32, referenced by element offset and shape.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages", "distillation", "src", "__fixtures__")
rng = np.random.default_rng(20150309)  # the paper's arXiv date

arrays = {}
seen = {}
blob = []
offset = 0


def put(name, a):
    """Store a float32 array under `name`; identical contents are stored once and shared."""
    global offset
    a = np.ascontiguousarray(a, dtype="<f4")
    key = (a.shape, a.tobytes())
    if key in seen:
        arrays[name] = arrays[seen[key]]
        return name
    seen[key] = name
    arrays[name] = {"offset": offset, "shape": list(a.shape)}
    blob.append(a.tobytes())
    offset += a.size
    return name


def f64(a):
    return torch.tensor(np.asarray(a, dtype=np.float32).astype(np.float64), requires_grad=True)


def reference(z32, teacher32, teacher_kind, labels, T, soft_w, hard_w, scale, objective):
    """Loss parts and d total / d student logits, exactly as documented in the package README."""
    z = f64(z32)
    soft = torch.zeros((), dtype=torch.float64)
    hard = torch.zeros((), dtype=torch.float64)
    use_soft = soft_w > 0
    use_hard = hard_w > 0 and labels is not None
    if use_soft:
        t = torch.tensor(np.asarray(teacher32, dtype=np.float32).astype(np.float64))
        if objective == "logit-matching":
            soft = 0.5 * ((z - t) ** 2).sum(1).mean()
        else:
            log_q = F.log_softmax(z / T, dim=1)
            if objective == "cross-entropy":
                p = t if teacher_kind == "probs" else F.softmax(t / T, dim=1)
                soft = -(p * log_q).sum(1).mean()
            else:  # kl, PyTorch's batchmean with the xlogy convention
                if teacher_kind == "probs":
                    soft = F.kl_div(log_q, t, reduction="batchmean")
                else:
                    soft = F.kl_div(log_q, F.log_softmax(t / T, dim=1), reduction="batchmean", log_target=True)
    if use_hard:
        hard = F.cross_entropy(z, torch.tensor(labels, dtype=torch.long), ignore_index=-1)
    scale_f = T * T if (scale and objective != "logit-matching") else 1.0
    total = torch.zeros((), dtype=torch.float64)
    if use_soft:
        total = total + soft_w * scale_f * soft
    if use_hard:
        total = total + hard_w * hard
    total.backward()
    return float(total), float(soft), float(hard), z.grad.numpy()


cases = []


def case(name, z, teacher, teacher_kind, labels, T, soft_w, hard_w, scale, objective="cross-entropy"):
    total, soft, hard, grad = reference(z, teacher, teacher_kind, labels, T, soft_w, hard_w, scale, objective)
    cases.append(
        {
            "name": name,
            "student": put(f"{name}/student", z),
            "teacher": put(f"{name}/teacher", teacher) if teacher is not None else None,
            "teacherKind": teacher_kind,
            "labels": None if labels is None else [int(x) for x in labels],
            "temperature": T,
            "softWeight": soft_w,
            "hardWeight": hard_w,
            "scaleByTemperatureSquared": scale,
            "softObjective": objective,
            "expected": {"total": total, "soft": soft, "hard": hard},
            "grad": put(f"{name}/grad", grad),
        }
    )


def softmax_np(v, T):
    t = torch.tensor(v.astype(np.float64)) / T
    return F.softmax(t, dim=1).numpy().astype(np.float32)


# Small, ordinary logits: 6 rows, 10 classes, two unlabelled rows.
n, C = 6, 10
z = (rng.standard_normal((n, C)) * 3).astype(np.float32)
v = (rng.standard_normal((n, C)) * 4).astype(np.float32)
labels = [3, -1, 0, 9, -1, 5]
for T in (1, 2, 5, 20):
    p = softmax_np(v, T)
    for scale in (True, False):
        s = "T2" if scale else "noT2"
        case(f"soft-only/probs/T{T}/{s}", z, p, "probs", None, T, 1.0, 0.0, scale)
        case(f"soft-only/logits/T{T}/{s}", z, v, "logits", None, T, 1.0, 0.0, scale)
        case(f"combined/logits/T{T}/{s}", z, v, "logits", labels, T, 1.0, 0.5, scale)
        # Same soft term, no labels: with T² on, total must be exactly the combined total minus the hard part.
        case(f"combined-unlabelled/logits/T{T}/{s}", z, v, "logits", None, T, 1.0, 0.5, scale)
    case(f"combined/probs/T{T}/T2", z, p, "probs", labels, T, 0.7, 0.3, True)
    case(f"kl/probs/T{T}", z, p, "probs", None, T, 1.0, 0.0, True, "kl")
    case(f"kl/logits/T{T}", z, v, "logits", None, T, 1.0, 0.0, True, "kl")
case("hard-only", z, None, "logits", labels, 1, 0.0, 1.0, True)
case("hard-only/weighted", z, None, "logits", labels, 4, 0.0, 0.5, True)
case("logit-matching", z, v, "logits", None, 1, 1.0, 0.0, True, "logit-matching")
case("logit-matching/combined", z, v, "logits", labels, 3, 1.0, 0.5, True, "logit-matching")

# Teacher probabilities with exact zeros (KL's 0·log 0 = 0 convention).
p0 = softmax_np(v, 1)
p0[:, :3] = 0
p0 = (p0 / p0.sum(1, keepdims=True)).astype(np.float32)
case("kl/probs-with-zeros", z, p0, "probs", None, 2, 1.0, 0.0, True, "kl")
case("soft/probs-with-zeros", z, p0, "probs", None, 2, 1.0, 0.0, True)

# Extreme logits: ±1e4 plus small noise, student and teacher.
ze = (np.sign(rng.standard_normal((4, 12))) * 1e4 + rng.standard_normal((4, 12))).astype(np.float32)
ve = (np.sign(rng.standard_normal((4, 12))) * 1e4 + rng.standard_normal((4, 12))).astype(np.float32)
le = [0, 5, -1, 11]
for T in (1, 2, 20):
    case(f"extreme/combined/T{T}", ze, ve, "logits", le, T, 1.0, 0.5, True)
    case(f"extreme/kl/T{T}", ze, ve, "logits", None, T, 1.0, 0.0, True, "kl")

# 14,000 classes (a large senone inventory), a few rows.
zb = (rng.standard_normal((2, 14000)) * 5).astype(np.float32)
vb = (rng.standard_normal((2, 14000)) * 5).astype(np.float32)
lb = [13999, 7]
case("c14000/combined/T1", zb, vb, "logits", lb, 1, 1.0, 0.5, True)
case("c14000/combined/T5", zb, vb, "logits", lb, 5, 1.0, 0.5, True)
case("c14000/kl/T2", zb, softmax_np(vb, 2), "probs", None, 2, 1.0, 0.0, True, "kl")

# Ensembles: 3 members, 5 rows, 7 classes.
M, ne, Ce = 3, 5, 7
members = (rng.standard_normal((M, ne, Ce)) * 3).astype(np.float32)
ensembles = []
for T in (1, 2, 5):
    mt = torch.tensor(members.astype(np.float64))
    arith = F.softmax(mt / T, dim=2).mean(0)
    # Renormalised geometric mean of member probabilities at T.
    logp = F.log_softmax(mt / T, dim=2).mean(0)
    geom = F.softmax(logp, dim=1)
    ensembles.append(
        {
            "temperature": T,
            "arithmetic": put(f"ensemble/T{T}/arith", arith.numpy()),
            "geometric": put(f"ensemble/T{T}/geom", geom.numpy()),
        }
    )

os.makedirs(OUT, exist_ok=True)
meta = {
    "generator": "tools/golden/distillation.py",
    "command": "/usr/bin/python3 tools/golden/distillation.py",
    "torch": torch.__version__,
    "numpy": np.__version__,
    "python": sys.version.split()[0],
    "precision": "inputs float32; references computed in float64 from them; arrays stored as float32",
    "arrays": arrays,
    "cases": cases,
    "ensemble": {"members": put("ensemble/members", members), "results": ensembles},
}
with open(os.path.join(OUT, "distillation-golden.bin"), "wb") as f:
    for b in blob:
        f.write(b)
with open(os.path.join(OUT, "distillation-golden.json"), "w") as f:
    json.dump(meta, f, indent=1)
    f.write("\n")
print(f"wrote {len(cases)} loss cases, {len(ensembles)} ensemble cases, {offset * 4} bytes of arrays to {OUT}")
