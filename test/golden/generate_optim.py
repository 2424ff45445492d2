"""Golden values for test/optim.test.ts, computed by torch (1.13) as an independent reference.

Each case minimises, per parameter i, L_i(p) = 0.5 * sum(a_i * p^2) + sum(c_{k,i} * p) at step k, so the gradient
is a_i * p + c_{k,i}: it depends on the parameter (exercises weight decay and momentum honestly) and changes from
step to step. A parameter whose c at step k is null takes no part in that step (grad None: skipped).

Run: /usr/bin/python3 test/golden/generate_optim.py  (writes test/golden/optim.json next to this file)
"""
import json
import os

import torch

torch.set_default_dtype(torch.float64)  # the reference in f64; the engine runs f32 and is compared with a tolerance


def run_case(name, opt_name, options, params, a, cs):
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    kw = dict(options)
    if "betas" in kw:
        kw["betas"] = tuple(kw["betas"])
    torch_kw = {
        "lr": "lr", "momentum": "momentum", "dampening": "dampening", "nesterov": "nesterov",
        "weightDecay": "weight_decay", "betas": "betas", "eps": "eps",
    }
    kw = {torch_kw[k]: v for k, v in kw.items()}
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[opt_name](ps, **kw)
    expected = []
    for c_step in cs:
        opt.zero_grad(set_to_none=True)
        loss = 0
        for p, ai, ci in zip(ps, a, c_step):
            if ci is None:
                continue
            loss = loss + 0.5 * (torch.tensor(ai) * p * p).sum() + (torch.tensor(ci) * p).sum()
        loss.backward()
        opt.step()
        expected.append([p.detach().tolist() for p in ps])
    return {"name": name, "optimizer": opt_name, "options": options, "params": params, "a": a, "c": cs, "expected": expected}


P = [[0.5, -1.0, 2.0], [[0.3, -0.2], [0.1, 0.7]]]
A = [[1.0, 2.0, 0.5], [[0.5, 1.5], [2.0, 1.0]]]
C = [
    [[0.1, -0.3, 0.2], [[0.4, -0.1], [0.0, 0.2]]],
    [[-0.2, 0.5, 0.1], [[-0.3, 0.2], [0.1, -0.4]]],
    [[0.3, 0.0, -0.4], [[0.2, 0.3], [-0.2, 0.1]]],
]
# the second parameter has no grad on the first step: per-parameter step counts must differ
C_LATE = [[C[0][0], None], C[1], C[2]]

cases = [
    run_case("sgd plain", "sgd", {"lr": 0.1}, P, A, C),
    run_case("sgd momentum", "sgd", {"lr": 0.1, "momentum": 0.9}, P, A, C),
    run_case("sgd momentum dampening weight decay", "sgd", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weightDecay": 0.1}, P, A, C),
    run_case("sgd nesterov weight decay", "sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weightDecay": 0.05}, P, A, C),
    run_case("adam defaults lr 0.1", "adam", {"lr": 0.1}, P, A, C),
    run_case("adam l2 weight decay betas eps", "adam", {"lr": 0.05, "betas": [0.8, 0.9], "eps": 1e-3, "weightDecay": 0.2}, P, A, C),
    run_case("adam late param", "adam", {"lr": 0.1}, P, A, C_LATE),
    run_case("adamw decoupled weight decay", "adamw", {"lr": 0.05, "weightDecay": 0.3}, P, A, C),
    run_case("adamw default weight decay", "adamw", {"lr": 0.1, "betas": [0.5, 0.6]}, P, A, C),
]

clip = []
for max_norm in [0.5, 1.0, 100.0]:
    ps = [torch.tensor(p, requires_grad=True) for p in P]
    grads = [[0.3, -0.4, 1.2], [[0.5, -0.25], [0.0, 0.75]]]
    for p, g in zip(ps, grads):
        p.grad = torch.tensor(g)
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm)
    clip.append({"maxNorm": max_norm, "grads": grads, "total": total.item(), "clipped": [p.grad.tolist() for p in ps]})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim.json")
with open(out, "w") as f:
    json.dump({"generator": "test/golden/generate_optim.py", "torch": torch.__version__, "cases": cases, "clip": clip}, f, indent=1)
print("wrote", out)
