"""Toy data sets and a minibatch iterator, seeded and pure Python (no numpy, no scikit-learn).

Every generator returns ``(X, y)``: ``X`` a list of points (lists of floats), ``y`` a list of labels.
``seed`` is an int, a ``random.Random`` or None (fresh randomness); the same seed gives the same data.
Binary sets label 0/1, or -1/+1 with ``signed=True`` (what the hinge loss wants).
"""

from __future__ import annotations

import math
import numbers
import random
from collections.abc import Iterator, Sequence
from typing import Any

from autograd.engine import Value

from ._check import check_int, check_number, check_rng, check_sequence, wrong_value


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
    n = check_int(n, "n", "make_moons", at_least=2)
    noise = check_number(noise, "noise", "make_moons", at_least=0)
    rng = check_rng(seed, "seed", "make_moons")
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
    n = check_int(n, "n", "make_circles", at_least=2)
    noise = check_number(noise, "noise", "make_circles", at_least=0)
    factor = check_number(factor, "factor", "make_circles", greater_than=0, less_than=1)
    rng = check_rng(seed, "seed", "make_circles")
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
    n = check_int(n, "n", "make_xor")
    noise = check_number(noise, "noise", "make_xor", at_least=0)
    rng = check_rng(seed, "seed", "make_xor")
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
    n = check_int(n, "n", "make_spirals")
    k = check_int(k, "k (the number of arms)", "make_spirals", at_least=2)
    if n < k:
        raise wrong_value("make_spirals", "n", f"at least k = {k} (one point per arm)", n)
    noise = check_number(noise, "noise", "make_spirals", at_least=0)
    rng = check_rng(seed, "seed", "make_spirals")
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
    n = check_int(n, "n", "make_blobs")
    std = check_number(std, "std", "make_blobs", at_least=0)
    rng = check_rng(seed, "seed", "make_blobs")
    if isinstance(centers, int) and not isinstance(centers, bool):
        check_int(centers, "centers", "make_blobs")
        check_int(dim, "dim", "make_blobs")
        center_points = [[rng.uniform(-10, 10) for _ in range(dim)] for _ in range(centers)]
    else:
        points = check_sequence(centers, "centers", "make_blobs", "a positive int or a non-empty list of points")
        center_points = []
        for i, point in enumerate(points):
            coordinates = check_sequence(point, f"centers[{i}]", "make_blobs", "a point (a list of numbers)")
            center_points.append(
                [check_number(v, f"centers[{i}][{j}]", "make_blobs") for j, v in enumerate(coordinates)]
            )
        if len({len(c) for c in center_points}) != 1:
            raise wrong_value("make_blobs", "centers", "points of one dimension", centers)
    X, y = [], []
    for i in range(n):
        c = i % len(center_points)
        X.append([v + rng.gauss(0.0, std) for v in center_points[c]])
        y.append(c)
    return _shuffled(X, y, rng)


def check_dataset(X: Any, y: Any, where: str) -> tuple[list[Any], list[Any]]:
    """X and y as lists of equal, non-zero length, or a ValueError naming ``where`` and the sizes."""
    X = check_sequence(X, "X", where, "a list of samples", non_empty=False)
    y = check_sequence(y, "y", where, "a list of labels", non_empty=False)
    if len(X) != len(y):
        raise ValueError(f"{where}: X has {len(X)} samples but y has {len(y)} labels")
    if len(X) == 0:
        raise ValueError(f"{where}: X and y are empty (no data)")
    _check_finite(X, "X", where)
    _check_finite(y, "y", where)
    return X, y


def _check_finite(items: Sequence[Any], name: str, where: str) -> None:
    """A ValueError naming the first nan or ±inf in ``items`` (numbers, Values, or rows of them)."""
    for i, item in enumerate(items):
        row = item if isinstance(item, (list, tuple)) else (item,)
        for j, x in enumerate(row):
            number = x.data if isinstance(x, Value) else x
            if isinstance(number, numbers.Real) and not math.isfinite(number):
                at = f"{name}[{i}][{j}]" if row is item else f"{name}[{i}]"
                raise ValueError(
                    f"{where}: {at} is {number!r}: training data must be finite numbers (fix or drop that sample)"
                )


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
    check_int(batch_size, "batch_size", "batches")
    rng = check_rng(seed, "seed", "batches")
    order = list(range(len(X)))
    if shuffle:
        rng.shuffle(order)

    def generate() -> Iterator[tuple[list[Any], list[Any]]]:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            yield [X[i] for i in chunk], [y[i] for i in chunk]

    return generate()
