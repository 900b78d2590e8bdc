"""nn.losses against hand-derived gradients, sympy, finite differences and torch's losses (float64)."""

import math
import random

import pytest
from oracles import softmax_floats

from autograd import Value, gradcheck, sum_values
from nn import (
    bce_with_logits,
    cross_entropy,
    get_loss,
    half_squared_error,
    hinge,
    l2_penalty,
    log_softmax,
    mse,
    softmax,
)


def _leaves(xs):
    return [Value(float(x)) for x in xs]


def _grads(loss, leaves):
    loss.backward()
    return [v.grad for v in leaves]


# ---------------------------------------------------------------- squared error


def test_mse_reductions_and_hand_derived_gradients():
    p, t = [1.0, -2.0, 0.5], [0.0, 1.0, 2.0]
    n = len(p)
    expected_sum = sum((a - b) ** 2 for a, b in zip(p, t))
    for reduction, value, dgrad in [
        ("mean", expected_sum / n, lambda a, b: 2 * (a - b) / n),  # ∂/∂pᵢ (1/n)Σ(p−t)² = 2(pᵢ−tᵢ)/n
        ("sum", expected_sum, lambda a, b: 2 * (a - b)),
        ("half_sum", expected_sum / 2, lambda a, b: a - b),  # ½Σ(p−t)²: the gradient is just p − t
    ]:
        leaves = _leaves(p)
        loss = mse(leaves, t, reduction=reduction)
        assert loss.data == pytest.approx(value, rel=1e-15)
        assert _grads(loss, leaves) == pytest.approx([dgrad(a, b) for a, b in zip(p, t)], rel=1e-15)
    leaves = _leaves(p)
    assert half_squared_error(leaves, t).data == pytest.approx(expected_sum / 2)


def test_mse_accepts_vectors_and_single_values():
    a, b = Value(1.0), Value(3.0)
    assert mse([[a, b]], [[0.0, 0.0]]).data == pytest.approx(5.0)
    assert mse(a, 4.0).data == pytest.approx(9.0)


def test_losses_pass_finite_difference_checks():
    t = [0.3, -1.0, 2.0]
    assert gradcheck(lambda a, b, c: mse([a, b, c], t), [0.1, 0.7, -0.4])
    assert gradcheck(lambda a, b, c: half_squared_error([a, b, c], t), [0.1, 0.7, -0.4])
    assert gradcheck(lambda a, b, c: hinge([a, b, c], [1, -1, 1]), [0.2, 0.4, 1.7])
    assert gradcheck(lambda a, b, c: bce_with_logits([a, b, c], [1, 0, 0.3]), [2.0, -0.5, 0.1])
    assert gradcheck(lambda a, b, c: cross_entropy([[a, b, c]], [2]), [1.0, -2.0, 0.5])
    assert gradcheck(lambda a, b, c: l2_penalty([a, b, c], 0.1), [1.0, -2.0, 0.5])
    assert gradcheck(lambda a, b, c: softmax([a, b, c])[1], [1.0, -2.0, 0.5])


# ---------------------------------------------------------------- hinge


def test_hinge_is_micrograds_max_margin_loss_with_hand_derived_gradient():
    s, y = [2.0, 0.5, -0.3, -3.0], [1, 1, 1, -1]
    leaves = _leaves(s)
    loss = hinge(leaves, y)
    margins = [max(0.0, 1 - yi * si) for si, yi in zip(s, y)]
    assert loss.data == pytest.approx(sum(margins) / 4)
    # ∂/∂sᵢ = −yᵢ/n where the margin is violated (1 − yᵢsᵢ > 0), else 0
    assert _grads(loss, leaves) == pytest.approx([0.0, -0.25, -0.25, 0.0])
    # plain numbers as scores work too (they used to fail with "'float' object has no attribute 'relu'")
    assert hinge(s, y).data == pytest.approx(sum(margins) / 4)
    assert bce_with_logits([0.0], [1]).data == pytest.approx(math.log(2))


def test_hinge_matches_micrograds_demo_expression():
    micrograd_engine = pytest.importorskip("micrograd.engine")
    s, y = [0.7, -0.2, 1.4], [1, -1, -1]
    theirs = [micrograd_engine.Value(v) for v in s]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, theirs)]
    reference = sum(losses) * (1.0 / len(losses))
    reference.backward()
    ours = _leaves(s)
    loss = hinge(ours, y)
    loss.backward()
    assert loss.data == reference.data
    assert [v.grad for v in ours] == [v.grad for v in theirs]


# ---------------------------------------------------------------- binary cross-entropy


def _sigmoid(z):
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def test_bce_with_logits_value_and_gradient_by_hand():
    z, y = [2.0, -1.0, 0.0], [1, 0, 0.25]
    leaves = _leaves(z)
    loss = bce_with_logits(leaves, y)
    expected = -sum(yi * math.log(_sigmoid(zi)) + (1 - yi) * math.log(1 - _sigmoid(zi)) for zi, yi in zip(z, y)) / 3
    assert loss.data == pytest.approx(expected, rel=1e-14)
    # ∂/∂zᵢ = (σ(zᵢ) − yᵢ)/n
    assert _grads(loss, leaves) == pytest.approx([(_sigmoid(zi) - yi) / 3 for zi, yi in zip(z, y)], rel=1e-14)


def test_bce_with_logits_is_stable_at_plus_minus_1000():
    z, y = [1000.0, -1000.0, 1000.0, -1000.0], [1, 0, 0, 1]
    leaves = _leaves(z)
    loss = bce_with_logits(leaves, y)
    # correct predictions cost 0, confident wrong ones cost |z| = 1000 each
    assert loss.data == pytest.approx((0 + 0 + 1000 + 1000) / 4)
    assert _grads(loss, leaves) == pytest.approx([0.0, 0.0, 0.25, -0.25])


# ---------------------------------------------------------------- softmax and cross-entropy


def test_cross_entropy_matches_sympy():
    sympy = pytest.importorskip("sympy")
    a, b, c = sympy.symbols("a b c")
    logits = [a, b, c]
    expr = -sympy.log(sympy.exp(b) / sum(sympy.exp(v) for v in logits))  # −log softmax(z)[1]
    point = {a: 0.3, b: -1.2, c: 2.5}
    leaves = _leaves(point.values())
    loss = cross_entropy([leaves], [1])
    assert loss.data == pytest.approx(float(expr.subs(point)), rel=1e-14)
    grads = _grads(loss, leaves)
    for leaf_grad, symbol in zip(grads, logits):
        assert leaf_grad == pytest.approx(float(sympy.diff(expr, symbol).subs(point)), rel=1e-13)


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    logits = [[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]]
    labels = [0, 2]
    leaves = [_leaves(row) for row in logits]
    loss = cross_entropy(leaves, labels)
    loss.backward()
    for row, label, values in zip(leaves, labels, logits):
        total = sum(math.exp(v) for v in values)
        for j, leaf in enumerate(row):
            assert leaf.grad == pytest.approx((math.exp(values[j]) / total - (j == label)) / 2, rel=1e-13)


def test_softmax_and_cross_entropy_are_stable_for_huge_logits():
    probs = softmax([Value(1000.0), Value(0.0), Value(-1000.0)])
    assert [p.data for p in probs] == pytest.approx([1.0, 0.0, 0.0])
    leaves = _leaves([1000.0, 999.0, -1000.0])
    loss = cross_entropy([leaves], [1])
    assert loss.data == pytest.approx(1 + math.log1p(math.exp(-1)), rel=1e-14)  # −log(e⁻¹/(1 + e⁻¹))
    assert math.isfinite(sum(_grads(loss, leaves)))
    assert sum(p.data for p in log_softmax(leaves)) < 0
    assert cross_entropy(leaves, 1).data == pytest.approx(loss.data)  # one sample, one label


# The shift m = max z is a node of the graph (autograd.maximum), so a compiled replay subtracts the max of
# the logits it is given. When it was a number read from .data at trace time, logits ~709 above the traced
# max gave loss inf (exp overflowed) and ~745 below raised "log() of 0.0" (every exp underflowed to 0).
FAR_LOGITS = [[800.0, 0.0, 1.0], [-800.0, -800.5, -801.0], [1e5, -1e5, 3.0], [0.5, 760.0, 759.0]]


def _logsumexp(zs):
    top = max(zs)
    return top + math.log(math.fsum(math.exp(z - top) for z in zs))


def _replay_far_from_the_trace(fn, far):
    """(replay's value and gradients at ``far``, eager's): the replay traced at logits near 0."""
    import warnings

    pytest.importorskip("numpy")
    from autograd import compiled

    replay = compiled(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # this test is about the numbers; the next one about warnings
        replay(_leaves([0.1 * i for i in range(len(far))]))
        leaves = _leaves(far)
        out = replay(leaves)
    eager_leaves = _leaves(far)
    eager = fn(eager_leaves)
    eager.backward()
    assert replay.traces == 1
    return (out.data, [v.grad for v in leaves]), (eager.data, [v.grad for v in eager_leaves])


@pytest.mark.parametrize("far", FAR_LOGITS)
def test_compiled_cross_entropy_follows_eager_far_from_the_traced_max(far):
    (loss, grads), (eager_loss, eager_grads) = _replay_far_from_the_trace(lambda z: cross_entropy([z], [0]), far)
    expected = _logsumexp(far) - far[0]  # −log softmax(z)[0], in plain floats
    assert loss == eager_loss == pytest.approx(expected, rel=1e-12, abs=1e-300)
    onehot = [1.0, 0.0, 0.0]
    expected_grads = [p - t for p, t in zip(softmax_floats(far), onehot)]  # softmax(z) − onehot
    assert grads == pytest.approx(eager_grads, rel=1e-12, abs=1e-15)
    assert grads == pytest.approx(expected_grads, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("far", FAR_LOGITS)
def test_compiled_softmax_and_log_softmax_follow_eager_far_from_the_traced_max(far):
    weights = [0.3, -1.1, 2.0]

    def weighted(probs):
        return sum(w * p for w, p in zip(weights, probs))

    p = softmax_floats(far)
    mean = math.fsum(w * pi for w, pi in zip(weights, p))
    (out, grads), (eager_out, eager_grads) = _replay_far_from_the_trace(lambda z: weighted(softmax(z)), far)
    assert out == pytest.approx(eager_out, rel=1e-12) and out == pytest.approx(mean, rel=1e-12)
    closed_form = [pi * (w - mean) for pi, w in zip(p, weights)]  # ∂/∂zᵢ Σ wⱼpⱼ = pᵢ(wᵢ − Σ wⱼpⱼ)
    assert grads == pytest.approx(eager_grads, rel=1e-12, abs=1e-15)
    assert grads == pytest.approx(closed_form, rel=1e-9, abs=1e-15)

    (out, grads), (eager_out, eager_grads) = _replay_far_from_the_trace(lambda z: weighted(log_softmax(z)), far)
    lse = _logsumexp(far)
    assert out == pytest.approx(eager_out, rel=1e-12) and out == pytest.approx(
        math.fsum(w * (z - lse) for w, z in zip(weights, far)), rel=1e-9
    )
    closed_form = [w - sum(weights) * pi for w, pi in zip(weights, p)]  # ∂/∂zᵢ Σ wⱼ log pⱼ = wᵢ − pᵢΣw
    assert grads == pytest.approx(eager_grads, rel=1e-12, abs=1e-15)
    assert grads == pytest.approx(closed_form, rel=1e-9, abs=1e-12)


LOSS_CALLS = {
    "mse": lambda z: mse(z, [0.5, -1.0, 2.0]),
    "half_squared_error": lambda z: half_squared_error(z, [0.5, -1.0, 2.0]),
    "hinge": lambda z: hinge(z, [1, -1, 1]),
    "bce_with_logits": lambda z: bce_with_logits(z, [1, 0, 0.5]),
    "cross_entropy": lambda z: cross_entropy([z, z[::-1]], [0, 2]),
    "softmax": lambda z: sum_values(softmax(z)),
    "log_softmax": lambda z: sum_values(log_softmax(z)),
    "l2_penalty": lambda z: l2_penalty(z, 0.1),
}


@pytest.mark.parametrize("name", sorted(LOSS_CALLS))
def test_losses_read_no_number_while_traced(name):
    """Traced under ``compiled(strict=True)`` (a read would raise TraceError) with every warning an error."""
    import warnings

    pytest.importorskip("numpy")
    from autograd import compiled

    fn = LOSS_CALLS[name]
    replay = compiled(fn, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for point in ([0.1, 0.2, 0.3], [900.0, -3.0, 0.0], [-900.0, -901.0, -899.0]):
            leaves, eager_leaves = _leaves(point), _leaves(point)
            out, eager = replay(leaves), fn(eager_leaves)
            eager.backward()
            assert out.data == pytest.approx(eager.data, rel=1e-12)
            assert [v.grad for v in leaves] == pytest.approx([v.grad for v in eager_leaves], rel=1e-12, abs=1e-15)
    assert replay.traces == 1


def test_l2_penalty_value_and_gradient():
    leaves = _leaves([1.0, -2.0, 0.5])
    loss = l2_penalty(leaves, alpha=1e-4)
    assert loss.data == pytest.approx(1e-4 * 5.25)
    assert _grads(loss, leaves) == pytest.approx([2e-4 * 1.0, 2e-4 * -2.0, 2e-4 * 0.5])  # ∂(αΣp²)/∂p = 2αp


# ---------------------------------------------------------------- against torch in float64


def test_losses_match_torch_in_float64():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = random.Random(0)
    n, k = 6, 4
    scores = [rng.uniform(-3, 3) for _ in range(n)]
    targets = [rng.uniform(-1, 1) for _ in range(n)]
    bits = [rng.randint(0, 1) for _ in range(n)]
    classes = [rng.randrange(k) for _ in range(n)]
    matrix = [[rng.uniform(-4, 4) for _ in range(k)] for _ in range(n)]

    def check(ours_fn, torch_fn, xs):
        leaves = _leaves(xs)
        ours = ours_fn(leaves)
        ours.backward()
        tx = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
        theirs = torch_fn(tx)
        theirs.backward()
        assert ours.data == pytest.approx(theirs.item(), rel=1e-12, abs=1e-15)
        assert [v.grad for v in leaves] == pytest.approx(tx.grad.tolist(), rel=1e-12, abs=1e-15)

    t = torch.tensor(targets, dtype=torch.float64)
    check(lambda v: mse(v, targets), lambda x: F.mse_loss(x, t), scores)
    check(lambda v: mse(v, targets, reduction="sum"), lambda x: F.mse_loss(x, t, reduction="sum"), scores)
    check(lambda v: half_squared_error(v, targets), lambda x: 0.5 * F.mse_loss(x, t, reduction="sum"), scores)
    b = torch.tensor(bits, dtype=torch.float64)
    check(lambda v: bce_with_logits(v, bits), lambda x: F.binary_cross_entropy_with_logits(x, b), scores)
    check(
        lambda v: bce_with_logits(v, bits),
        lambda x: F.binary_cross_entropy_with_logits(x, b),
        [1000.0, -1000.0, 500.0, -700.0, 0.0, 30.0],
    )
    signs = [2 * bit - 1 for bit in bits]
    s = torch.tensor(signs, dtype=torch.float64)
    check(lambda v: hinge(v, signs), lambda x: F.relu(1 - s * x).mean(), scores)
    # cross-entropy over an n×k matrix of logits
    leaves = [_leaves(row) for row in matrix]
    ours = cross_entropy(leaves, classes)
    ours.backward()
    tx = torch.tensor(matrix, dtype=torch.float64, requires_grad=True)
    theirs = F.cross_entropy(tx, torch.tensor(classes))
    theirs.backward()
    assert ours.data == pytest.approx(theirs.item(), rel=1e-12)
    assert [[v.grad for v in row] for row in leaves] == [
        pytest.approx(r, rel=1e-12, abs=1e-15) for r in tx.grad.tolist()
    ]
    sm = softmax(_leaves(matrix[0]))
    assert [p.data for p in sm] == pytest.approx(F.softmax(torch.tensor(matrix[0], dtype=torch.float64), 0).tolist())


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: mse([Value(1.0)], [1.0], reduction="avg"),
            ValueError,
            "mse: reduction must be one of 'mean', 'sum', 'half_sum', got 'avg'",
        ),
        (lambda: mse([Value(1.0)], [1.0, 2.0]), ValueError, "mse: pred has 1 values but target has 2"),
        (lambda: mse([], []), ValueError, "mse: pred and target are empty"),
        (lambda: mse(["a"], [1.0]), TypeError, "mse: pred[0] must be a Value, a number or a list of them, got str 'a'"),
        (lambda: mse([[1.0, None]], [1.0, 2.0]), TypeError, "mse: pred[0][1] must be a Value, a number or a list"),
        (lambda: hinge([Value(1.0)], [0]), ValueError, "hinge: labels[0] must be -1 or +1, got 0"),
        (lambda: hinge([Value(1.0)], [1, 1]), ValueError, "hinge: got 1 predictions but 2 labels"),
        (lambda: hinge([], []), ValueError, "hinge: no predictions (empty list)"),
        (lambda: hinge([[Value(1.0)]], [1]), TypeError, "needs cross_entropy"),
        (lambda: hinge([Value(1.0)], ["1"]), TypeError, "hinge: labels[0] must be a finite number, got str '1'"),
        (lambda: bce_with_logits([Value(1.0)], [2]), ValueError, "bce_with_logits: labels[0] must be in [0, 1], got 2"),
        (
            lambda: cross_entropy([[Value(1.0), Value(2.0)]], [2]),
            ValueError,
            "labels[0] must be an int class index in [0, 2), got 2",
        ),
        (lambda: cross_entropy([[Value(1.0), Value(2.0)]], [0, 1]), ValueError, "got 1 samples of logits but 2 labels"),
        (
            lambda: cross_entropy([[Value(1.0), Value(2.0)]], [1.0]),
            TypeError,
            "cross_entropy: labels[0] must be an int class index in [0, 2), got float 1.0",
        ),
        (lambda: softmax([Value(1.0), "2"]), TypeError, "softmax: logits[1] must be a finite number, got str '2'"),
        (lambda: cross_entropy([], []), ValueError, "logits must be a non-empty list of k-vectors"),
        (lambda: cross_entropy([Value(1.0), Value(2.0)], [0, 1]), TypeError, "needs hinge or bce"),
        (lambda: softmax([]), ValueError, "softmax: logits must be a non-empty list"),
        (
            lambda: l2_penalty([Value(1.0)], alpha=-1),
            ValueError,
            "l2_penalty: alpha must be a finite number >= 0, got -1",
        ),
        (lambda: l2_penalty([]), ValueError, "l2_penalty: params must be a non-empty list of Values, got []"),
        (
            lambda: get_loss("huber"),
            ValueError,
            "get_loss: loss must be one of 'mse', 'hinge', 'bce', 'cross_entropy' or a callable",
        ),
    ],
)
def test_bad_input_messages(call, error, message):
    with pytest.raises(error) as e:
        call()
    assert message in str(e.value)


def test_get_loss_by_name_and_callable():
    assert get_loss("bce") is bce_with_logits and get_loss("cross_entropy") is cross_entropy
    custom = lambda outputs, labels: outputs[0]  # noqa: E731
    assert get_loss(custom) is custom
