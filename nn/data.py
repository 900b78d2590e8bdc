"""Toy data sets and a minibatch iterator, seeded and pure Python (no numpy, no scikit-learn).

Every generator returns ``(X, y)``: ``X`` a list of points (lists of floats), ``y`` a list of labels.
``seed`` is an int, a ``random.Random`` or None (fresh randomness); the same seed gives the same data.
Binary sets label 0/1, or -1/+1 with ``signed=True`` (what the hinge loss wants).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from typing import Any


def _rng(seed: int | random.Random | None, where: str) -> random.Random:
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return random.Random()
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"{where}: seed must be an int, a random.Random or None, got {seed!r}")
    return random.Random(seed)


def _check_n(n: object, where: str, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise ValueError(f"{where}: n must be an int >= {minimum}, got {n!r}")
    return n


def _check_noise(noise: object, where: str, name: str = "noise") -> float:
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"{where}: {name} must be a finite number >= 0, got {noise!r}")
    return float(noise)


def _linspace(start: float, stop: float, n: int) -> list[float]:
    if n == 1:
        return [start]
    return [start + (stop - start) * i / (n - 1) for i in range(n)]


def _shuffled(points: list[list[float]], labels: list[int], rng: random.Random) -> tuple[list[list[float]], list[int]]:
    order = list(range(len(points)))
    rng.shuffle(order)
    return [points[i] for i in order], [labels[i] for i in order]


def _signed(labels: list[int], signed: bool) -> list[int]:
    return [2 * y - 1 for y in labels] if signed else labels


def make_moons(
    n: int = 100, noise: float = 0.1, seed: int | random.Random | None = None, signed: bool = False
) -> tuple[list[list[float]], list[int]]:
    """Two interleaving half circles: (cos t, sin t) labelled 0 and (1 − cos t, ½ − sin t) labelled 1, t ∈ [0, π].

    Gaussian noise of standard deviation ``noise`` is added to each coordinate (as scikit-learn's make_moons).
    ``signed=True`` gives labels -1/+1 (micrograd's demo uses ``y*2 - 1``).

    >>> X, y = make_moons(100, noise=0.1, seed=0, signed=True)
    """
    n = _check_n(n, "make_moons", 2)
    noise = _check_noise(noise, "make_moons")
    rng = _rng(seed, "make_moons")
    n_outer = n // 2
    n_inner = n - n_outer
    points = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_outer)]
    points += [[1 - math.cos(t), 0.5 - math.sin(t)] for t in _linspace(0.0, math.pi, n_inner)]
    labels = [0] * n_outer + [1] * n_inner
    points = [[x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)] for x, y in points] if noise else points
    X, y = _shuffled(points, labels, rng)
    return X, _signed(y, signed)


def make_circles(
    n: int = 100,
    noise: float = 0.05,
    factor: float = 0.5,
    seed: int | random.Random | None = None,
    signed: bool = False,
) -> tuple[list[list[float]], list[int]]:
    """Two concentric circles: radius 1 labelled 0, radius ``factor`` (0 < factor < 1) labelled 1, plus noise."""
    n = _check_n(n, "make_circles", 2)
    noise = _check_noise(noise, "make_circles")
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must be a number in (0, 1), got {factor!r}")
    rng = _rng(seed, "make_circles")
    n_outer = n // 2
    n_inner = n - n_outer
    points = [[math.cos(2 * math.pi * i / n_outer), math.sin(2 * math.pi * i / n_outer)] for i in range(n_outer)]
    points += [
        [factor * math.cos(2 * math.pi * i / n_inner), factor * math.sin(2 * math.pi * i / n_inner)]
        for i in range(n_inner)
    ]
    labels = [0] * n_outer + [1] * n_inner
    points = [[x + rng.gauss(0.0, noise), y + rng.gauss(0.0, noise)] for x, y in points] if noise else points
    X, y = _shuffled(points, labels, rng)
    return X, _signed(y, signed)


def make_xor(
    n: int = 100, noise: float = 0.0, seed: int | random.Random | None = None, signed: bool = False
) -> tuple[list[list[float]], list[int]]:
    """Points uniform in [-1, 1]², labelled 1 where sign(x₀) ≠ sign(x₁) (the XOR of the signs), else 0.

    Labels come from the clean point; Gaussian ``noise`` is added afterwards.
    """
    n = _check_n(n, "make_xor")
    noise = _check_noise(noise, "make_xor")
    rng = _rng(seed, "make_xor")
    X, y = [], []
    for _ in range(n):
        a, b = rng.uniform(-1, 1), rng.uniform(-1, 1)
        y.append(int((a > 0) != (b > 0)))
        if noise:
            a, b = a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)
        X.append([a, b])
    return X, _signed(y, signed)


def make_spirals(
    n: int = 150, k: int = 3, noise: float = 0.2, seed: int | random.Random | None = None
) -> tuple[list[list[float]], list[int]]:
    """``k`` interleaved spiral arms (CS231n's spiral data): arm j has r ∈ [0, 1], angle 4j..4(j+1) + noise.

    Point = (r sin θ, r cos θ); ``n`` points in all, split as evenly as possible; labels 0..k−1.
    """
    n = _check_n(n, "make_spirals")
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"make_spirals: k (the number of arms) must be an int >= 2, got {k!r}")
    if n < k:
        raise ValueError(f"make_spirals: n must be at least k = {k} (one point per arm), got {n}")
    noise = _check_noise(noise, "make_spirals")
    rng = _rng(seed, "make_spirals")
    X: list[list[float]] = []
    y: list[int] = []
    for arm in range(k):
        m = n // k + (1 if arm < n % k else 0)
        radii = _linspace(0.0, 1.0, m)
        angles = _linspace(arm * 4.0, (arm + 1) * 4.0, m)
        for r, t in zip(radii, angles):
            t += rng.gauss(0.0, noise) if noise else 0.0
            X.append([r * math.sin(t), r * math.cos(t)])
            y.append(arm)
    return _shuffled(X, y, rng)


def make_blobs(
    n: int = 100,
    centers: int | Sequence[Sequence[float]] = 3,
    std: float = 1.0,
    dim: int = 2,
    seed: int | random.Random | None = None,
) -> tuple[list[list[float]], list[int]]:
    """Gaussian blobs: point = center_c + N(0, std²) per coordinate, label c.

    ``centers`` is a count (centers drawn uniformly in [-10, 10]^dim) or a list of points.
    """
    n = _check_n(n, "make_blobs")
    std = _check_noise(std, "make_blobs", "std")
    rng = _rng(seed, "make_blobs")
    if isinstance(centers, int) and not isinstance(centers, bool):
        if centers < 1:
            raise ValueError(f"make_blobs: centers must be >= 1, got {centers!r}")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"make_blobs: dim must be a positive int, got {dim!r}")
        center_points = [[rng.uniform(-10, 10) for _ in range(dim)] for _ in range(centers)]
    elif isinstance(centers, Sequence) and centers and all(isinstance(c, Sequence) for c in centers):
        center_points = [[float(v) for v in c] for c in centers]
        dims = {len(c) for c in center_points}
        if len(dims) != 1 or 0 in dims:
            raise ValueError(f"make_blobs: all centers must have the same positive dimension, got {centers!r}")
    else:
        raise ValueError(f"make_blobs: centers must be a positive int or a list of points, got {centers!r}")
    X, y = [], []
    for i in range(n):
        c = i % len(center_points)
        X.append([v + rng.gauss(0.0, std) for v in center_points[c]])
        y.append(c)
    return _shuffled(X, y, rng)


def check_dataset(X: Any, y: Any, where: str) -> tuple[list[Any], list[Any]]:
    """X and y as lists of equal, non-zero length, or a ValueError naming ``where`` and the sizes."""
    if isinstance(X, (str, bytes)) or not isinstance(X, Sequence):
        raise ValueError(f"{where}: X must be a list of samples, got {type(X).__name__}")
    if isinstance(y, (str, bytes)) or not isinstance(y, Sequence):
        raise ValueError(f"{where}: y must be a list of labels, got {type(y).__name__}")
    if len(X) != len(y):
        raise ValueError(f"{where}: X has {len(X)} samples but y has {len(y)} labels")
    if len(X) == 0:
        raise ValueError(f"{where}: X and y are empty (no data)")
    return list(X), list(y)


def batches(
    X: Sequence[Any],
    y: Sequence[Any],
    batch_size: int,
    shuffle: bool = True,
    seed: int | random.Random | None = None,
) -> Iterator[tuple[list[Any], list[Any]]]:
    """Yield ``(X_batch, y_batch)`` pairs of at most ``batch_size`` samples covering the data once.

    With ``shuffle`` the order is a permutation drawn from ``seed``; the last batch may be smaller.
    Arguments are checked when ``batches`` is called, not when iteration starts.

    >>> [len(b) for b, _ in batches(list(range(5)), list(range(5)), 2, shuffle=False)]
    [2, 2, 1]
    """
    X, y = check_dataset(X, y, "batches")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batches: batch_size must be a positive int, got {batch_size!r}")
    order = list(range(len(X)))
    if shuffle:
        _rng(seed, "batches").shuffle(order)

    def generate() -> Iterator[tuple[list[Any], list[Any]]]:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            yield [X[i] for i in chunk], [y[i] for i in chunk]

    return generate()
