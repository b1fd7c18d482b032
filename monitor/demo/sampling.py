"""Random counts for simulated streams, shared by benchmarks and tests so their streams stay comparable."""

from __future__ import annotations

import math
import random


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw: Knuth's product method, a rounded normal above 30 (where the product underflows).

    Deliberately not monitor.demo.generate's sampler, which splits large means instead: changing either
    would change the streams (and the recorded numbers) built on it.
    """
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
