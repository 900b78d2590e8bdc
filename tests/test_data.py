"""nn.data: the toy generators (shape, labels, geometry, seeding) and the minibatch iterator."""

import math
import random

import pytest

from nn import batches, make_blobs, make_circles, make_moons, make_spirals, make_xor

GENERATORS = [
    lambda seed: make_moons(60, noise=0.1, seed=seed),
    lambda seed: make_circles(60, noise=0.05, seed=seed),
    lambda seed: make_xor(60, noise=0.05, seed=seed),
    lambda seed: make_spirals(60, k=3, seed=seed),
    lambda seed: make_blobs(60, centers=4, seed=seed),
]


@pytest.mark.parametrize("make", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(make):
    X1, y1 = make(3)
    X2, y2 = make(3)
    X3, _ = make(4)
    assert (X1, y1) == (X2, y2)
    assert X1 != X3
    assert len(X1) == len(y1) == 60
    assert all(isinstance(v, float) for x in X1 for v in x)
    assert make(random.Random(3)) == (X1, y1)  # a random.Random works as a seed


def test_generators_do_not_touch_the_global_random_state():
    random.seed(0)
    state = random.getstate()
    for make in GENERATORS:
        make(1)
    assert random.getstate() == state


def test_moons_geometry_and_labels():
    X, y = make_moons(100, noise=0.0, seed=0)
    assert sorted(set(y)) == [0, 1] and y.count(0) == y.count(1) == 50
    for (a, b), label in zip(X, y):
        if label == 0:  # the upper moon: the unit half circle
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:  # the lower moon: centred at (1, 0.5)
            assert math.hypot(a - 1, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12
    _, signed = make_moons(100, noise=0.0, seed=0, signed=True)
    assert signed == [2 * v - 1 for v in y]


def test_moons_noise_has_the_requested_spread():
    clean, _ = make_moons(2000, noise=0.0, seed=1)
    noisy, _ = make_moons(2000, noise=0.2, seed=1)

    # same shuffle is not guaranteed, so compare the distance to the nearest clean curve
    def distance(a, b):
        return min(abs(math.hypot(a, b) - 1), abs(math.hypot(a - 1, b - 0.5) - 1))

    assert max(distance(a, b) for a, b in clean) < 1e-12
    spread = sum(distance(a, b) for a, b in noisy) / len(noisy)
    assert 0.05 < spread < 0.2


def test_circles_radii():
    X, y = make_circles(80, noise=0.0, factor=0.3, seed=0)
    for (a, b), label in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if label == 0 else 0.3)
    assert sorted(set(make_circles(10, seed=0, signed=True)[1])) == [-1, 1]


def test_xor_labels_follow_the_signs():
    X, y = make_xor(200, noise=0.0, seed=0)
    for (a, b), label in zip(X, y):
        assert -1 <= a <= 1 and -1 <= b <= 1
        assert label == (1 if (a > 0) != (b > 0) else 0)
    assert 60 < sum(y) < 140


def test_spirals_arms_radius_and_counts():
    X, y = make_spirals(151, k=4, noise=0.0, seed=0)
    assert sorted(set(y)) == [0, 1, 2, 3]
    assert [y.count(c) for c in range(4)] == [38, 38, 38, 37]
    assert max(math.hypot(a, b) for a, b in X) == pytest.approx(1.0)
    for (a, b), label in zip(X, y):
        r = math.hypot(a, b)
        if r > 1e-9:  # the angle of a point of arm j at radius r is 4j + 4r (θ measured from the y axis)
            theta = 4 * label + 4 * r
            assert (a, b) == (pytest.approx(r * math.sin(theta)), pytest.approx(r * math.cos(theta)))


def test_blobs_cluster_around_their_centers():
    centers = [[-5.0, 0.0], [5.0, 5.0]]
    X, y = make_blobs(400, centers=centers, std=0.5, seed=0)
    for c, center in enumerate(centers):
        points = [x for x, label in zip(X, y) if label == c]
        mean = [sum(p[i] for p in points) / len(points) for i in range(2)]
        assert mean == pytest.approx(center, abs=0.1)
    X3, y3 = make_blobs(30, centers=3, dim=5, seed=0)
    assert all(len(x) == 5 for x in X3) and sorted(set(y3)) == [0, 1, 2]


def test_batches_cover_the_data_once_and_shuffle_reproducibly():
    X = [[float(i)] for i in range(10)]
    y = list(range(10))
    plain = list(batches(X, y, 4, shuffle=False))
    assert [len(b) for b, _ in plain] == [4, 4, 2]
    assert [label for _, yb in plain for label in yb] == y
    shuffled = list(batches(X, y, 3, seed=5))
    labels = [label for _, yb in shuffled for label in yb]
    assert sorted(labels) == y and labels != y
    assert all(xb[i][0] == yb[i] for xb, yb in shuffled for i in range(len(yb)))  # pairs stay together
    assert list(batches(X, y, 3, seed=5)) == shuffled


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: make_moons(1), ValueError, "make_moons: n must be an int >= 2, got 1"),
        (lambda: make_moons(10, noise=-0.1), ValueError, "make_moons: noise must be a finite number >= 0, got -0.1"),
        (
            lambda: make_moons(10, seed="abc"),
            TypeError,
            "make_moons: seed must be an int, a random.Random or None, got str 'abc'",
        ),
        (
            lambda: make_circles(10, factor=1.5),
            ValueError,
            "make_circles: factor must be a finite number in (0, 1), got 1.5",
        ),
        (lambda: make_xor(0), ValueError, "make_xor: n must be a positive int, got 0"),
        (lambda: make_xor(2.0), TypeError, "make_xor: n must be a positive int, got float 2.0"),
        (lambda: make_spirals(10, k=1), ValueError, "make_spirals: k (the number of arms) must be an int >= 2, got 1"),
        (lambda: make_spirals(2, k=3), ValueError, "make_spirals: n must be at least k = 3 (one point per arm), got 2"),
        (lambda: make_blobs(10, centers=0), ValueError, "make_blobs: centers must be a positive int, got 0"),
        (
            lambda: make_blobs(10, centers=[[0.0], [1.0, 2.0]]),
            ValueError,
            "make_blobs: centers must be points of one dimension, got [[0.0], [1.0, 2.0]]",
        ),
        (
            lambda: make_blobs(10, centers=[["a"]]),
            TypeError,
            "make_blobs: centers[0][0] must be a finite number, got str",
        ),
        (lambda: make_blobs(10, std=math.inf), ValueError, "make_blobs: std must be a finite number >= 0, got inf"),
        (lambda: batches([[1.0]], [1, 2], 1), ValueError, "batches: X has 1 samples but y has 2 labels"),
        (lambda: batches([], [], 1), ValueError, "batches: X and y are empty (no data)"),
        (lambda: batches([[1.0]], [1], 0), ValueError, "batches: batch_size must be a positive int, got 0"),
        (lambda: batches([[1.0]], [1], 2.5), TypeError, "batches: batch_size must be a positive int, got float 2.5"),
        (lambda: batches("abc", [1, 2, 3], 1), TypeError, "batches: X must be a list of samples, got str 'abc'"),
    ],
)
def test_bad_input_messages(call, error, message):
    with pytest.raises(error) as e:
        call()
    assert message in str(e.value)
