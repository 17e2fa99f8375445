#!/usr/bin/env python3
"""Fits the polynomial behind the AVX-512 `exp` (src/kernel/fast/avx512.rs).

e^r = 1 + r + r^2 q(r) on |r| <= ln2/2, with q of degree 4, fitted by
iteratively reweighted least squares towards the minimax of the relative
error of e^r. Prints the coefficients (as f32, highest degree first) and
the error of the fit and of an f32 Horner evaluation.

Command (numpy only; never needed by CI):
    /tmp/ref/bin/python scripts/fit_exp_poly.py
"""
import numpy as np

DEGREE = 4
h = np.log(2) / 2
r = np.linspace(-h, h, 20001)
r = r[r != 0]
target = (np.expm1(r) - r) / r**2
w = np.ones_like(r)
for _ in range(50):
    vand = np.vander(r, DEGREE + 1, increasing=True)
    scale = (r**2 / np.exp(r)) * w
    c, *_ = np.linalg.lstsq(vand * scale[:, None], target * scale, rcond=None)
    err = r**2 * (vand @ c - target) / np.exp(r)
    w = w * (1 + 10 * np.abs(err) / np.abs(err).max())
c32 = c.astype(np.float32)
print("fit: max relative error of e^r", np.abs(err).max())
# f32 Horner evaluation, as the kernel does it (there with fused steps).
r32 = np.linspace(-h, h, 200001).astype(np.float32)
q = c32[-1]
for k in range(DEGREE - 1, -1, -1):
    q = (q * r32 + c32[k]).astype(np.float32)
p = (np.float32(1) + r32 * (np.float32(1) + r32 * q)).astype(np.float32)
exact = np.exp(r32.astype(np.float64))
print("f32 evaluation: max relative error", (np.abs(p - exact) / exact).max())
print("coefficients, highest degree first:", [repr(float(x)) for x in c32[::-1]])
