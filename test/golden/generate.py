#!/usr/bin/python3
"""Generate PyTorch golden cases for every engine op (test/golden/ops.json).

Run by hand with Debian's python3-torch (torch 1.13):

    /usr/bin/python3 test/golden/generate.py

Every case is computed in float64. The file format (read by test/golden.test.ts):

    {
      "generator": {...},
      "cases": [
        {
          "name":   unique, human readable,
          "op":     the engine op (or a small named composition, e.g. "mulStopGradient"),
          "attrs":  op attributes as the engine API takes them,
          "inputs": [{"shape", "dtype", "data"}],
          "outputs":   [{"shape", "dtype", "data"}]   (one entry except for split),
          "cotangents": [{"shape", "dtype", "data"}] | null   (null: forward only),
          "grads":  [{"shape", "dtype", "data"} | null]  (one per input; null for integer / mask inputs),
          "pre":    optional, per input: a view (transpose / permute / slice / expand) applied before the op,
          "f32TolScale": optional, widens the f32 tolerance (large common offsets only)
        }
      ]
    }

dtype "float" means "the floating dtype the test runs in" (the data are float64; the test runs each case in f64
and again in f32). Other dtypes ("i32", "u8", "f32", "f64") are fixed. "grads" are the gradients of
sum_i sum(outputs[i] * cotangents[i]) with respect to each input. Float inputs and cotangents are rounded to
f32-representable values, so the f32 run sees the same inputs. The output is deterministic (fixed seed).
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
GEN = torch.Generator().manual_seed(20240611)
F64 = torch.float64
CASES = []
NAMES = set()


# ----------------------------------------------------------------------------------------------------------------
# input makers (all deterministic through GEN)

def randn(*shape, scale=1.0):
    return torch.randn(tuple(shape), generator=GEN, dtype=F64) * scale


def uniform(shape, lo, hi):
    return torch.rand(tuple(shape), generator=GEN, dtype=F64) * (hi - lo) + lo


def away_from_zero(shape, lo=0.2, hi=2.0):
    """|x| in [lo, hi] with random signs: keeps relu/abs/sign away from their kinks."""
    mag = uniform(shape, lo, hi)
    sgn = torch.where(torch.rand(tuple(shape), generator=GEN) < 0.5, -1.0, 1.0)
    return mag * sgn


def distinct(shape, scale=1.0):
    """Values that are pairwise distinct by a margin (a shuffled grid plus a small jitter), so max/argmax have a
    unique winner even after rounding to f32."""
    n = max(1, math.prod(shape))
    grid = torch.arange(n, dtype=F64) - (n - 1) / 2
    perm = torch.randperm(n, generator=GEN)
    jitter = uniform((n,), -0.2, 0.2)
    return ((grid[perm] + jitter) * (scale * 2.0 / max(n, 1))).reshape(shape)


def quantized(shape, lo=-2, hi=2, step=0.5):
    """Exactly representable values on a coarse grid: ties are frequent and survive f32 rounding."""
    k = int(round((hi - lo) / step))
    return (torch.randint(0, k + 1, tuple(shape), generator=GEN).to(F64) * step + lo)


def ints(shape, lo, hi):
    return torch.randint(lo, hi, tuple(shape), generator=GEN, dtype=torch.int64)


# ----------------------------------------------------------------------------------------------------------------
# serialisation

def enc(t, dtype):
    t = t.detach()
    if dtype in ('float', 'f64', 'f32'):
        data = [float(v) for v in t.to(F64).reshape(-1).tolist()]
    else:
        data = [int(v) for v in t.reshape(-1).tolist()]
    return {'shape': list(t.shape), 'dtype': dtype, 'data': data}


def dtype_of(t):
    if t.dtype == F64:
        return 'float'
    if t.dtype == torch.float32:
        return 'f32'
    if t.dtype in (torch.int64, torch.int32):
        return 'i32'
    if t.dtype in (torch.bool, torch.uint8):
        return 'u8'
    raise ValueError(f'unsupported dtype {t.dtype}')


def apply_pre(t, p):
    """A view applied to a stored input before the op (the test does the same with the engine's view ops), so
    that kernels see non-contiguous, offset and stride-0 inputs."""
    if p is None:
        return t
    if p['op'] == 'transpose':
        return t.transpose(p['a0'], p['a1'])
    if p['op'] == 'permute':
        return t.permute(*p['axes'])
    if p['op'] == 'slice':
        return t[tuple(slice(a, b) for a, b in zip(p['starts'], p['ends']))]
    if p['op'] == 'expand':
        return t.expand(*p['shape'])
    raise ValueError(p)


def add(name, op, attrs, inputs, fn, grad=True, out_dtype=None, pre=None, f32_tol_scale=None, round_f32=True):
    """inputs: list of torch tensors (float64 ones are differentiable unless grad=False).
    fn(*leaves) -> tensor or list of tensors. pre: optional per-input view applied before fn (gradients are with
    respect to the stored input)."""
    assert name not in NAMES, name
    NAMES.add(name)
    # Float inputs are rounded to f32-representable values, so the f32 run sees exactly the inputs torch used and
    # its comparison with the f64 truth measures the engine's f32 arithmetic only.
    if round_f32:
        inputs = [t.to(torch.float32).to(F64) if t.dtype == F64 else t for t in inputs]
    leaves = []
    for t in inputs:
        if t.dtype == F64 and grad:
            leaves.append(t.clone().requires_grad_(True))
        else:
            leaves.append(t.clone())
    views = [apply_pre(l, p) for l, p in zip(leaves, pre)] if pre else leaves
    out = fn(*views)
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    out_dtypes = [out_dtype or dtype_of(o) for o in outs]
    case = {
        'name': name,
        'op': op,
        'attrs': attrs,
        'inputs': [enc(t, dtype_of(t)) for t in inputs],
        'outputs': [enc(o, d) for o, d in zip(outs, out_dtypes)],
        'cotangents': None,
        'grads': None,
    }
    if pre:
        case['pre'] = pre
    if f32_tol_scale:
        # inputs with a large common offset: f32 arithmetic itself cannot do better; f64 stays tight
        case['f32TolScale'] = f32_tol_scale
    if grad and any(l.requires_grad for l in leaves):
        cots = [randn(*o.shape).to(torch.float32).to(F64) for o in outs]
        loss = sum((o * c).sum() for o, c in zip(outs, cots))
        diff = [l for l in leaves if l.requires_grad]
        if loss.requires_grad:
            gs = torch.autograd.grad(loss, diff, allow_unused=True)
        else:  # the output does not depend differentiably on any input (stopGradient)
            gs = [None] * len(diff)
        it = iter(gs)
        grads = []
        for l in leaves:
            if l.requires_grad:
                g = next(it)
                if g is None:
                    g = torch.zeros_like(l)
                grads.append(enc(g, 'float'))
            else:
                grads.append(None)
        case['cotangents'] = [enc(c, 'float') for c in cots]
        case['grads'] = grads
    CASES.append(case)


# ----------------------------------------------------------------------------------------------------------------
# elementwise unary

SHAPES_UNARY = [(33,), (3, 7), (2, 1, 5)]


def unary(op, fn, maker, attrs=None, suffix=''):
    for shape in SHAPES_UNARY:
        name = f'{op}{suffix} {list(shape)}'
        add(name, op, attrs or {}, [maker(shape)], fn)


unary('neg', torch.neg, lambda s: randn(*s))
unary('exp', torch.exp, lambda s: uniform(s, -2, 2))
unary('log', torch.log, lambda s: uniform(s, 0.3, 4))
unary('sqrt', torch.sqrt, lambda s: uniform(s, 0.3, 4))
unary('rsqrt', torch.rsqrt, lambda s: uniform(s, 0.3, 4))
unary('tanh', torch.tanh, lambda s: uniform(s, -3, 3))
unary('sigmoid', torch.sigmoid, lambda s: uniform(s, -5, 5))
unary('relu', torch.relu, lambda s: away_from_zero(s))
unary('gelu', lambda x: F.gelu(x, approximate='none'), lambda s: uniform(s, -4, 4),
      attrs={'approximate': 'none'}, suffix=' none')
unary('gelu', lambda x: F.gelu(x, approximate='tanh'), lambda s: uniform(s, -4, 4),
      attrs={'approximate': 'tanh'}, suffix=' tanh')
add('gelu default [3, 7]', 'gelu', {}, [uniform((3, 7), -4, 4)], lambda x: F.gelu(x))
unary('abs', torch.abs, lambda s: away_from_zero(s))
unary('square', torch.square, lambda s: randn(*s))
unary('erf', torch.erf, lambda s: uniform(s, -2.5, 2.5))
add('sign [3, 7]', 'sign', {}, [away_from_zero((3, 7))], torch.sign)

# ----------------------------------------------------------------------------------------------------------------
# elementwise binary with broadcasting

BIN_SHAPES = [
    ((33,), (33,)),
    ((3, 7), (7,)),
    ((3, 1, 5), (1, 4, 1)),
    ((), (5,)),
    ((2, 3, 1), (3, 7)),
]

for a_shape, b_shape in BIN_SHAPES:
    tag = f'{list(a_shape)} {list(b_shape)}'
    add(f'add {tag}', 'add', {}, [randn(*a_shape), randn(*b_shape)], torch.add)
    add(f'sub {tag}', 'sub', {}, [randn(*a_shape), randn(*b_shape)], torch.sub)
    add(f'mul {tag}', 'mul', {}, [randn(*a_shape), randn(*b_shape)], torch.mul)
    add(f'div {tag}', 'div', {}, [randn(*a_shape), away_from_zero(b_shape, 0.5, 2.0)], torch.div)
    add(f'pow {tag}', 'pow', {}, [uniform(a_shape, 0.5, 2.0), uniform(b_shape, -2, 2)], torch.pow)
    add(f'maximum {tag}', 'maximum', {}, [distinct(a_shape, 3), distinct(b_shape, 3)], torch.maximum)
    add(f'minimum {tag}', 'minimum', {}, [distinct(a_shape, 3), distinct(b_shape, 3)], torch.minimum)

# ties: torch gives each of two equal inputs half the gradient
for a_shape, b_shape in [((33,), (33,)), ((3, 7), (7,)), ((3, 1, 5), (1, 4, 1))]:
    tag = f'{list(a_shape)} {list(b_shape)}'
    add(f'maximum ties {tag}', 'maximum', {}, [quantized(a_shape, -1, 1), quantized(b_shape, -1, 1)],
        torch.maximum)
    add(f'minimum ties {tag}', 'minimum', {}, [quantized(a_shape, -1, 1), quantized(b_shape, -1, 1)],
        torch.minimum)

# a number operand takes the tensor's dtype: attrs.scalar with side 'left' (op(number, x)) or 'right' (op(x, number))
for op, fn, side, value, maker in [
    ('add', torch.add, 'right', 1.5, lambda s: randn(*s)),
    ('sub', torch.sub, 'left', 2.0, lambda s: randn(*s)),
    ('mul', torch.mul, 'right', -3.0, lambda s: randn(*s)),
    ('div', torch.div, 'left', 1.0, lambda s: away_from_zero(s, 0.5, 2.0)),
    ('pow', torch.pow, 'right', 2.5, lambda s: uniform(s, 0.5, 2.0)),
    ('pow', torch.pow, 'right', -0.5, lambda s: uniform(s, 0.5, 2.0)),
    ('maximum', torch.maximum, 'right', 0.25, lambda s: distinct(s, 2)),
]:
    x = maker((3, 7))
    c = torch.tensor(value, dtype=F64)
    f = (lambda fn, c: (lambda a: fn(c, a)))(fn, c) if side == 'left' else (lambda fn, c: (lambda a: fn(a, c)))(fn, c)
    add(f'{op} scalar {side} {value} [3, 7]', op, {'scalar': value, 'side': side}, [x], f)

# comparisons (forward only; u8 output). Quantized inputs so that equal pairs exist and survive f32.
for op, fn in [('eq', torch.eq), ('ne', torch.ne), ('lt', torch.lt), ('le', torch.le), ('gt', torch.gt),
               ('ge', torch.ge)]:
    for a_shape, b_shape in [((33,), (33,)), ((3, 7), (7,)), ((3, 1, 5), (1, 4, 1))]:
        tag = f'{list(a_shape)} {list(b_shape)}'
        add(f'{op} {tag}', op, {}, [quantized(a_shape, -1, 1), quantized(b_shape, -1, 1)],
            lambda a, b, fn=fn: fn(a, b).to(torch.uint8), grad=False)

# where
for c_shape, a_shape, b_shape in [((33,), (33,), (33,)), ((3, 1), (3, 5), (5,)), ((2, 3, 5), (3, 5), ())]:
    cond = (torch.rand(tuple(c_shape), generator=GEN) < 0.5).to(torch.uint8)
    add(f'where {list(c_shape)} {list(a_shape)} {list(b_shape)}', 'where', {},
        [cond, randn(*a_shape), randn(*b_shape)], lambda c, a, b: torch.where(c.bool(), a, b))

# ----------------------------------------------------------------------------------------------------------------
# reductions

RED_AXES = [
    ((3, 5, 7), None, False),
    ((3, 5, 7), None, True),
    ((3, 5, 7), 0, False),
    ((3, 5, 7), -1, False),
    ((3, 5, 7), 1, True),
    ((3, 5, 7), [0, 2], False),
    ((3, 5, 7), [-1, 0], True),
    ((33,), 0, False),
    ((7, 33), 1, False),
]


def dims(axis, rank):
    if axis is None:
        return tuple(range(rank))
    if isinstance(axis, int):
        return (axis,)
    return tuple(axis)


def red_attrs(axis, keepdims):
    a = {'keepdims': keepdims}
    if axis is not None:
        a['axis'] = axis
    return a


for shape, axis, keep in RED_AXES:
    tag = f'{list(shape)} axis={axis} keepdims={keep}'
    d = dims(axis, len(shape))
    attrs = red_attrs(axis, keep)
    add(f'sum {tag}', 'sum', attrs, [randn(*shape)], lambda x: torch.sum(x, dim=d, keepdim=keep))
    add(f'mean {tag}', 'mean', attrs, [randn(*shape)], lambda x: torch.mean(x, dim=d, keepdim=keep))
    add(f'max {tag}', 'max', attrs, [distinct(shape, 3)], lambda x: torch.amax(x, dim=d, keepdim=keep))
    add(f'logsumexp {tag}', 'logsumexp', attrs, [randn(*shape, scale=2)],
        lambda x: torch.logsumexp(x, dim=d, keepdim=keep))
    add(f'norm {tag}', 'norm', attrs, [away_from_zero(shape, 0.3, 2)],
        lambda x: torch.linalg.vector_norm(x, 2, dim=d, keepdim=keep))
    for corr in (0, 1):
        va = dict(attrs, correction=corr)
        add(f'var {tag} correction={corr}', 'var', va, [randn(*shape)],
            lambda x, corr=corr: torch.var(x, dim=d, unbiased=bool(corr), keepdim=keep))

# sum with no axis argument at all (all axes, keepdims default false), and of a 0-d tensor
add('sum default [3, 5]', 'sum', {}, [randn(3, 5)], torch.sum)
add('mean default [3, 5]', 'mean', {}, [randn(3, 5)], torch.mean)
add('var default [3, 5]', 'var', {}, [randn(3, 5)], torch.var)
add('sum [] axis=None', 'sum', {}, [randn()], torch.sum)

for shape, axis in [((33,), 0), ((3, 5, 7), 0), ((3, 5, 7), 1), ((3, 5, 7), -1), ((7, 33), 1)]:
    add(f'argmax {list(shape)} axis={axis}', 'argmax', {'axis': axis}, [distinct(shape, 3)],
        lambda x, axis=axis: torch.argmax(x, dim=axis), grad=False)

# ----------------------------------------------------------------------------------------------------------------
# matmul

for a_shape, b_shape in [
    ((7, 33), (33, 5)),
    ((3, 4), (4, 5)),
    ((1, 7), (7, 1)),
    ((33,), (33, 5)),
    ((7, 33), (33,)),
    ((7,), (7,)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (3, 4, 5)),
    ((2, 3, 7, 5), (2, 3, 5, 3)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
]:
    add(f'matmul {list(a_shape)} {list(b_shape)}', 'matmul', {}, [randn(*a_shape), randn(*b_shape)], torch.matmul)

# ----------------------------------------------------------------------------------------------------------------
# softmax family

for shape, axis in [((33,), -1), ((3, 7), -1), ((3, 7), 0), ((3, 5, 7), 1), ((3, 5, 7), -1), ((2, 3, 5), 0)]:
    tag = f'{list(shape)} axis={axis}'
    add(f'softmax {tag}', 'softmax', {'axis': axis}, [randn(*shape, scale=2)],
        lambda x, axis=axis: torch.softmax(x, dim=axis))
    add(f'logSoftmax {tag}', 'logSoftmax', {'axis': axis}, [randn(*shape, scale=2)],
        lambda x, axis=axis: torch.log_softmax(x, dim=axis))
add('softmax default [3, 7]', 'softmax', {}, [randn(3, 7)], lambda x: torch.softmax(x, dim=-1))
add('logSoftmax default [3, 7]', 'logSoftmax', {}, [randn(3, 7)], lambda x: torch.log_softmax(x, dim=-1))


def ce(logits, targets, reduction):
    c = logits.shape[-1]
    out = F.cross_entropy(logits.reshape(-1, c), targets.reshape(-1), reduction=reduction)
    return out.reshape(targets.shape) if reduction == 'none' else out


for lshape in [(5, 7), (1, 3), (2, 3, 5), (4, 33)]:
    for reduction in ['mean', 'sum', 'none']:
        logits = randn(*lshape, scale=2)
        targets = ints(lshape[:-1], 0, lshape[-1])
        add(f'crossEntropy {list(lshape)} {reduction}', 'crossEntropy', {'reduction': reduction},
            [logits, targets], lambda l, t, r=reduction: ce(l, t, r))
add('crossEntropy [5, 7] default', 'crossEntropy', {}, [randn(5, 7), ints((5,), 0, 7)],
    lambda l, t: ce(l, t, 'mean'))

for shape, has_w, has_b, eps in [
    ((3, 7), True, True, 1e-5),
    ((2, 3, 33), True, True, 1e-5),
    ((5, 5), False, False, 1e-5),
    ((4, 7), True, False, 1e-3),
    ((33,), True, True, 1e-5),
]:
    d = shape[-1]
    ins = [randn(*shape, scale=2) + 0.5]
    if has_w:
        ins.append(1 + randn(d, scale=0.3))
    if has_b:
        ins.append(randn(d))
    attrs = {'weight': has_w, 'bias': has_b, 'eps': eps}

    def ln(x, *wb, has_w=has_w, has_b=has_b, eps=eps, d=d):
        w = wb[0] if has_w else None
        b = wb[-1] if has_b else None
        return F.layer_norm(x, (d,), w, b, eps)

    add(f'layerNorm {list(shape)} weight={has_w} bias={has_b} eps={eps}', 'layerNorm', attrs, ins, ln)

# ----------------------------------------------------------------------------------------------------------------
# indexing

for v, d, ishape in [(7, 5, (9,)), (5, 33, (2, 6)), (3, 1, (4,)), (11, 3, ())]:
    idx = ints(ishape, 0, v)
    if len(ishape) and idx.numel() > v:
        assert len(set(idx.reshape(-1).tolist())) < idx.numel()  # repeated indices: the gradient accumulates
    add(f'embedding V={v} D={d} idx={list(ishape)}', 'embedding', {}, [randn(v, d), idx], lambda w, i: F.embedding(i, w))

for rows, d, ishape in [(5, 3, (9,)), (7, 33, (2, 5)), (3, 1, (6,))]:
    idx = ints(ishape, 0, rows)

    def sa(i, vals, rows=rows, d=d):
        return torch.zeros(rows, d, dtype=F64).index_add(0, i.reshape(-1), vals.reshape(-1, d))

    add(f'scatterAdd rows={rows} D={d} idx={list(ishape)}', 'scatterAdd', {'numRows': rows},
        [idx, randn(*ishape, d)], sa)

for n, ishape, dt in [(5, (7,), None), (3, (2, 4), None), (33, (3,), 'f64'), (4, (), 'i32')]:
    idx = ints(ishape, 0, n)
    tdt = {'f64': F64, 'i32': torch.int32, None: torch.float32}[dt]
    attrs = {'numClasses': n}
    if dt:
        attrs['dtype'] = dt
    add(f'oneHot n={n} idx={list(ishape)} dtype={dt or "default"}', 'oneHot', attrs, [idx],
        lambda i, n=n, tdt=tdt: F.one_hot(i, n).to(tdt), grad=False, out_dtype=dt or 'f32')

# ----------------------------------------------------------------------------------------------------------------
# structure

for shapes, axis in [
    ([(2, 3), (4, 3)], 0),
    ([(3, 1), (3, 5), (3, 2)], 1),
    ([(2, 3, 4), (2, 3, 1)], -1),
    ([(33,), (7,)], 0),
    ([(3, 7)], 0),
]:
    add(f'concat {[list(s) for s in shapes]} axis={axis}', 'concat', {'axis': axis}, [randn(*s) for s in shapes],
        lambda *xs, axis=axis: torch.cat(xs, dim=axis))
add('concat default [[2, 3], [1, 3]]', 'concat', {}, [randn(2, 3), randn(1, 3)], lambda *xs: torch.cat(xs, 0))

for shape, n, axis in [((3,), 2, 0), ((2, 3), 3, 0), ((2, 3), 2, 1), ((2, 3), 2, 2), ((3, 5, 7), 2, -1), ((), 3, 0)]:
    add(f'stack {n}x{list(shape)} axis={axis}', 'stack', {'axis': axis}, [randn(*shape) for _ in range(n)],
        lambda *xs, axis=axis: torch.stack(xs, dim=axis))
add('stack default 2x[3]', 'stack', {}, [randn(3), randn(3)], lambda *xs: torch.stack(xs, 0))

for shape, sizes, axis in [
    ((6, 3), 3, 0),
    ((3, 8), 2, 1),
    ((7, 3), [2, 5], 0),
    ((3, 33), [1, 7, 25], -1),
    ((2, 5, 3), [5], 1),
    ((4,), 1, 0),
]:
    def sp(x, sizes=sizes, axis=axis):
        if isinstance(sizes, int):
            return list(torch.tensor_split(x, sizes, dim=axis))
        return list(torch.split(x, sizes, dim=axis))

    add(f'split {list(shape)} {sizes} axis={axis}', 'split', {'sizes': sizes, 'axis': axis}, [randn(*shape)], sp)
add('split default [4, 3] 2', 'split', {'sizes': 2}, [randn(4, 3)], lambda x: list(torch.tensor_split(x, 2, 0)))

for shape, target in [((3, 7), [7, 3]), ((2, 3, 5), [6, -1]), ((33,), [3, 11]), ((3, 5), [-1]), ((1,), []),
                      ((2, 3, 5), [5, 1, 3, 2])]:
    add(f'reshape {list(shape)} -> {target}', 'reshape', {'shape': target}, [randn(*shape)],
        lambda x, target=target: x.reshape(target))

for shape, axes in [((3, 7), None), ((2, 3, 5), None), ((2, 3, 5), (0, 2)), ((2, 3, 5), (-3, 1)), ((3, 7), (1, 0))]:
    attrs = {} if axes is None else {'a0': axes[0], 'a1': axes[1]}
    a0, a1 = axes if axes else (-2, -1)
    add(f'transpose {list(shape)} {axes}', 'transpose', attrs, [randn(*shape)],
        lambda x, a0=a0, a1=a1: torch.transpose(x, a0, a1))

for shape, perm in [((2, 3, 5), [2, 0, 1]), ((2, 3, 5), [1, 2, 0]), ((2, 3, 4, 5), [0, 2, 1, 3]), ((3, 7), [1, 0]),
                    ((2, 3, 5), [-1, 0, 1])]:
    add(f'permute {list(shape)} {perm}', 'permute', {'axes': perm}, [randn(*shape)],
        lambda x, perm=perm: x.permute(*perm))


def py_slice(x, starts, ends):
    idx = tuple(slice(s, e) for s, e in zip(starts, ends))
    return x[idx]


for shape, starts, ends in [
    ((33,), [3], [10]),
    ((5, 7), [1, 2], [4, 7]),
    ((5, 7), [1], [3]),
    ((5, 7), [-3, 0], [5, -2]),
    ((2, 5, 7), [0, 1, 3], [2, 4, 6]),
    ((3, 5, 7), [1, -4], [-1, 5]),
]:
    add(f'slice {list(shape)} {starts} {ends}', 'slice', {'starts': starts, 'ends': ends}, [randn(*shape)],
        lambda x, s=starts, e=ends: py_slice(x, s, e))

for shape, target in [((3, 1), [3, 5]), ((3, 1), [2, 3, 4]), ((1,), [7]), ((), [2, 3]), ((1, 5, 1), [3, 5, 2]),
                      ((3, 7), [3, 7])]:
    add(f'expand {list(shape)} -> {target}', 'expand', {'shape': target}, [randn(*shape)],
        lambda x, target=target: x.expand(*target))

for shape, axis in [((3, 1, 5), None), ((1, 3, 1, 1), None), ((3, 1, 5), 1), ((3, 5, 1), -1), ((1,), 0),
                    ((1, 1), 0)]:
    attrs = {} if axis is None else {'axis': axis}
    add(f'squeeze {list(shape)} axis={axis}', 'squeeze', attrs, [randn(*shape)],
        lambda x, axis=axis: x.squeeze() if axis is None else x.squeeze(axis))

for shape, axis in [((3, 5), 0), ((3, 5), 1), ((3, 5), 2), ((3, 5), -1), ((3, 5), -3), ((), 0)]:
    add(f'unsqueeze {list(shape)} axis={axis}', 'unsqueeze', {'axis': axis}, [randn(*shape)],
        lambda x, axis=axis: x.unsqueeze(axis))

for shape, widths in [((5,), [[2, 3]]), ((3, 4), [[1, 0], [0, 2]]), ((2, 3, 5), [[0, 0], [1, 1], [2, 0]]),
                      ((3, 4), [[0, 0], [0, 0]])]:
    flat = []
    for b, a in reversed(widths):
        flat += [b, a]
    add(f'pad {list(shape)} {widths}', 'pad', {'widths': widths}, [randn(*shape)],
        lambda x, flat=flat: F.pad(x, flat))

add('contiguous transposed [3, 7]', 'contiguousTransposed', {}, [randn(3, 7)], lambda x: x.t().contiguous())

# cast (forward only). The f64 -> f32 case's output is the f32 rounding of the f64 input.
add('cast f64->f32 [3, 7]', 'cast', {'dtype': 'f32'}, [randn(3, 7)], lambda x: x.to(torch.float32), grad=False,
    round_f32=False)
add('cast f64->f32 [33]', 'cast', {'dtype': 'f32'}, [randn(33)], lambda x: x.to(torch.float32), grad=False,
    round_f32=False)
x32 = randn(3, 5).to(torch.float32)
add('cast f32->f64 [3, 5]', 'cast', {'dtype': 'f64'}, [x32], lambda x: x.to(F64), grad=False, out_dtype='f64')

# stopGradient: zero gradient; and x * stopGradient(x), whose gradient is x (not 2x)
add('stopGradient [3, 7]', 'stopGradient', {}, [randn(3, 7)], lambda x: x.detach())
add('mulStopGradient [3, 7]', 'mulStopGradient', {}, [randn(3, 7)], lambda x: x * x.detach())
add('mulDetach [33]', 'mulDetach', {}, [randn(33)], lambda x: x * x.detach())

# ----------------------------------------------------------------------------------------------------------------
# ops on non-contiguous inputs: transposed, permuted, sliced (offset + strides), expanded (stride 0)

T01 = {'op': 'transpose', 'a0': 0, 'a1': 1}
add('exp of transposed [7, 3]', 'exp', {}, [uniform((7, 3), -2, 2)], torch.exp, pre=[T01])
add('gelu of sliced [5, 9][1:4, 2:8]', 'gelu', {'approximate': 'tanh'}, [uniform((5, 9), -3, 3)],
    lambda x: F.gelu(x, approximate='tanh'), pre=[{'op': 'slice', 'starts': [1, 2], 'ends': [4, 8]}])
add('add transposed + broadcast [7, 3]^T + [7]', 'add', {}, [randn(7, 3), randn(7)], torch.add, pre=[T01, None])
add('mul permuted [5, 2, 3] -> [2, 3, 5] * [3, 5]', 'mul', {}, [randn(5, 2, 3), randn(3, 5)], torch.mul,
    pre=[{'op': 'permute', 'axes': [1, 2, 0]}, None])
add('sub expanded [3, 1] -> [3, 5] - sliced', 'sub', {}, [randn(3, 1), randn(4, 7)], torch.sub,
    pre=[{'op': 'expand', 'shape': [3, 5]}, {'op': 'slice', 'starts': [1, 2], 'ends': [4, 7]}])
add('div of both transposed [5, 3]', 'div', {}, [randn(5, 3), away_from_zero((5, 3), 0.5, 2)], torch.div,
    pre=[T01, T01])
add('maximum transposed vs sliced', 'maximum', {}, [distinct((5, 3), 3), distinct((4, 6), 3)], torch.maximum,
    pre=[T01, {'op': 'slice', 'starts': [1, 1], 'ends': [4, 6]}])
add('where with transposed operands', 'where', {},
    [(torch.rand((3, 5), generator=GEN) < 0.5).to(torch.uint8), randn(5, 3), randn(5)],
    lambda c, a, b: torch.where(c.bool(), a, b), pre=[None, T01, None])
for axis, keep in [(None, False), (0, False), (1, True), (-1, False)]:
    d = dims(axis, 2)
    add(f'sum of transposed [7, 5] axis={axis} keepdims={keep}', 'sum', red_attrs(axis, keep), [randn(7, 5)],
        lambda x, d=d, keep=keep: torch.sum(x, dim=d, keepdim=keep), pre=[T01])
    add(f'max of transposed [7, 5] axis={axis} keepdims={keep}', 'max', red_attrs(axis, keep), [distinct((7, 5), 3)],
        lambda x, d=d, keep=keep: torch.amax(x, dim=d, keepdim=keep), pre=[T01])
add('var of permuted [5, 3, 4] axis=[0, 2]', 'var', {'axis': [0, 2], 'keepdims': False, 'correction': 1},
    [randn(5, 3, 4)], lambda x: torch.var(x, dim=(0, 2), unbiased=True),
    pre=[{'op': 'permute', 'axes': [2, 0, 1]}])
add('argmax of transposed [7, 5] axis=0', 'argmax', {'axis': 0}, [distinct((7, 5), 3)],
    lambda x: torch.argmax(x, dim=0), grad=False, pre=[T01])
add('matmul transposed a [33, 7]^T @ [33, 5]', 'matmul', {}, [randn(33, 7), randn(33, 5)], torch.matmul,
    pre=[T01, None])
add('matmul a @ transposed b [7, 33] @ [5, 33]^T', 'matmul', {}, [randn(7, 33), randn(5, 33)], torch.matmul,
    pre=[None, T01])
add('matmul batched transposed [2, 4, 3]^T12 @ sliced', 'matmul', {}, [randn(2, 4, 3), randn(2, 6, 5)],
    torch.matmul, pre=[{'op': 'transpose', 'a0': 1, 'a1': 2}, {'op': 'slice', 'starts': [0, 1, 0], 'ends': [2, 5, 5]}])
add('matmul expanded batch [3, 4] -> [2, 3, 4] @ [2, 4, 5]', 'matmul', {}, [randn(3, 4), randn(2, 4, 5)],
    torch.matmul, pre=[{'op': 'expand', 'shape': [2, 3, 4]}, None])
add('softmax of transposed [7, 3] axis=-1', 'softmax', {'axis': -1}, [randn(7, 3, scale=2)],
    lambda x: torch.softmax(x, dim=-1), pre=[T01])
add('logSoftmax of sliced [4, 9][:, 1:8] axis=-1', 'logSoftmax', {'axis': -1}, [randn(4, 9, scale=2)],
    lambda x: torch.log_softmax(x, dim=-1), pre=[{'op': 'slice', 'starts': [0, 1], 'ends': [4, 8]}])
add('crossEntropy of transposed logits [7, 5]^T', 'crossEntropy', {'reduction': 'mean'},
    [randn(7, 5, scale=2), ints((5,), 0, 7)], lambda l, t: ce(l, t, 'mean'), pre=[T01, None])
add('layerNorm of transposed [7, 3]^T', 'layerNorm', {'weight': True, 'bias': True, 'eps': 1e-5},
    [randn(7, 3), 1 + randn(7, scale=0.3), randn(7)],
    lambda x, w, b: F.layer_norm(x, (7,), w, b, 1e-5), pre=[T01, None, None])
add('concat of transposed and sliced', 'concat', {'axis': 0}, [randn(5, 3), randn(4, 7)],
    lambda a, b: torch.cat([a, b], 0), pre=[T01, {'op': 'slice', 'starts': [0, 2], 'ends': [2, 7]}])
add('pad of transposed [5, 3]', 'pad', {'widths': [[1, 2], [0, 1]]}, [randn(5, 3)],
    lambda x: F.pad(x, [0, 1, 1, 2]), pre=[T01])
add('reshape of transposed [5, 3] -> [15]', 'reshape', {'shape': [15]}, [randn(5, 3)],
    lambda x: x.reshape(15), pre=[T01])
add('embedding of sliced weight', 'embedding', {}, [randn(9, 6), ints((8,), 0, 5)],
    lambda w, i: F.embedding(i, w), pre=[{'op': 'slice', 'starts': [2, 1], 'ends': [7, 5]}, None])

# numerically demanding inputs: large logits (a naive exp overflows, in f32 at least), saturated activations
add('logsumexp large [3, 7] axis=-1', 'logsumexp', {'axis': -1, 'keepdims': False}, [randn(3, 7, scale=5) + 100],
    lambda x: torch.logsumexp(x, dim=-1))
add('logsumexp very negative [3, 7] all', 'logsumexp', {'keepdims': False}, [randn(3, 7, scale=5) - 120],
    lambda x: torch.logsumexp(x, dim=(0, 1)))
add('softmax large [3, 7]', 'softmax', {'axis': -1}, [randn(3, 7, scale=30) + 80], lambda x: torch.softmax(x, -1))
add('logSoftmax large [3, 7]', 'logSoftmax', {'axis': -1}, [randn(3, 7, scale=30) + 80],
    lambda x: torch.log_softmax(x, -1))
add('crossEntropy large logits [4, 7]', 'crossEntropy', {'reduction': 'sum'},
    [randn(4, 7, scale=40) - 50, ints((4,), 0, 7)], lambda l, t: ce(l, t, 'sum'))
add('sigmoid saturated [33]', 'sigmoid', {}, [uniform((33,), -60, 60)], torch.sigmoid)
add('tanh saturated [33]', 'tanh', {}, [uniform((33,), -30, 30)], torch.tanh)
add('gelu none saturated [33]', 'gelu', {'approximate': 'none'}, [uniform((33,), -30, 30)],
    lambda x: F.gelu(x, approximate='none'))
add('gelu tanh saturated [33]', 'gelu', {'approximate': 'tanh'}, [uniform((33,), -30, 30)],
    lambda x: F.gelu(x, approximate='tanh'))
add('erf saturated [33]', 'erf', {}, [uniform((33,), -8, 8)], torch.erf)
# a large common offset: E[x^2] - E[x]^2 loses ~8 digits here even in f64 (catches a one-pass variance)
add('layerNorm large offset [3, 33]', 'layerNorm', {'weight': True, 'bias': True, 'eps': 1e-5},
    [randn(3, 33) + 1e4, 1 + randn(33, scale=0.3), randn(33)], lambda x, w, b: F.layer_norm(x, (33,), w, b, 1e-5),
    f32_tol_scale=100)
add('var large offset [33]', 'var', {'axis': 0, 'keepdims': False, 'correction': 1}, [randn(33) + 1e4],
    lambda x: torch.var(x, dim=0), f32_tol_scale=100)
add('softmax+offset invariance: logSoftmax large offset [5, 7]', 'logSoftmax', {'axis': -1}, [randn(5, 7) + 1e4],
    lambda x: torch.log_softmax(x, -1), f32_tol_scale=100)

# ----------------------------------------------------------------------------------------------------------------

out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ops.json')
doc = {
    'generator': {'script': 'test/golden/generate.py', 'torch': torch.__version__, 'seed': 20240611},
    'cases': CASES,
}
with open(out_path, 'w') as f:
    json.dump(doc, f, separators=(',', ':'))
    f.write('\n')
size = os.path.getsize(out_path)
ops = sorted(set(c['op'] for c in CASES))
print(f'wrote {out_path}: {len(CASES)} cases, {len(ops)} ops, {size / 1e6:.2f} MB', file=sys.stderr)
