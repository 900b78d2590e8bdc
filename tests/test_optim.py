"""nn.optim: first-order optimizers stepped side by side with torch.optim (float64), schedules, errors."""

import math

import pytest

from autograd import Value
from nn import (
    SGD,
    Adam,
    AdamW,
    Scheduler,
    constant,
    cosine_decay,
    exponential_decay,
    linear_decay,
    solve_linear,
)

START = [0.5, -1.5, 2.0, 0.1]


def _objective(p, sin, tanh):
    """A smooth non-quadratic test function, written once for Values and once for torch tensors."""
    a, b, c, d = p
    return a * a * 3.0 + sin(a * b) + (c - 1.0) ** 4 + tanh(d) * b + 0.5 * d * d


def _ours(opt_cls, steps, **kwargs):
    params = [Value(x) for x in START]
    opt = opt_cls(params, **kwargs)
    trajectory = []
    for _ in range(steps):
        loss = _objective(params, lambda v: v.sin(), lambda v: v.tanh())
        opt.zero_grad()
        loss.backward()
        opt.step()
        trajectory.append([p.data for p in params])
    return trajectory


def _torchs(torch, opt_cls, steps, **kwargs):
    params = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in START]
    opt = opt_cls(params, **kwargs)
    trajectory = []
    for _ in range(steps):
        loss = _objective(params, torch.sin, torch.tanh)
        opt.zero_grad()
        loss.backward()
        opt.step()
        trajectory.append([p.item() for p in params])
    return trajectory


CONFIGS = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.03, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.1}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.1}),
    ("AdamW", {"lr": 0.05, "betas": (0.85, 0.95), "weight_decay": 0.3}),
]


@pytest.mark.parametrize("name, kwargs", CONFIGS)
def test_steps_match_torch_optim_in_float64(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = _ours({"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name], 8, **kwargs)
    theirs = _torchs(torch, getattr(torch.optim, name), 8, **kwargs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12), f"step {step}"
    assert ours[-1] != pytest.approx(START)  # the parameters really moved


def test_plain_sgd_is_micrograds_update_exactly():
    params = [Value(1.0), Value(-2.0)]
    for p, g in zip(params, [0.3, -0.7]):
        p.grad = g
    SGD(params, lr=0.1).step()
    assert [p.data for p in params] == [1.0 - 0.1 * 0.3, -2.0 - 0.1 * -0.7]


def test_adam_first_step_is_lr_times_sign_of_gradient():
    # with m̂ = g and v̂ = g² on step 1, the update is lr·g/(|g| + ε) ≈ lr·sign(g)
    params = [Value(1.0), Value(1.0)]
    params[0].grad, params[1].grad = 5.0, -0.01
    Adam(params, lr=0.1, eps=0.0).step()
    assert [p.data for p in params] == pytest.approx([0.9, 1.1], rel=1e-15)


def test_adamw_decays_weights_without_gradient():
    params = [Value(2.0)]
    params[0].grad = 0.0
    AdamW(params, lr=0.1, weight_decay=0.5).step()
    assert params[0].data == pytest.approx(2.0 * (1 - 0.1 * 0.5))  # p ← p(1 − lr·λ), Adam part is 0/ε = 0


def test_zero_grad_clears_grads():
    params = [Value(1.0), Value(2.0)]
    (params[0] * params[1]).backward()
    opt = SGD(params, lr=0.1)
    opt.zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


# ---------------------------------------------------------------- schedules


def test_linear_decay_is_micrograds_learning_rate():
    schedule = linear_decay(1.0, 0.1, 100)
    for k in range(100):
        assert schedule(k) == pytest.approx(1.0 - 0.9 * k / 100, rel=1e-15)
    assert schedule(100) == pytest.approx(0.1) and schedule(250) == 0.1


def test_linear_decay_to_zero_is_microgpts_learning_rate():
    """microgpt: lr_t = 0.01·(1 − t/steps) for t = 0 … steps−1, so the last step still moves (lr > 0)."""
    steps = 1000
    schedule = linear_decay(0.01, 0.0, steps)
    for k in range(steps):
        assert schedule(k) == pytest.approx(0.01 * (1 - k / steps), rel=1e-13, abs=1e-18)
    assert schedule(steps - 1) > 0 and schedule(steps) == 0.0


def test_other_schedules():
    assert constant(0.3)(17) == 0.3
    e = exponential_decay(1.0, 0.5)
    assert [e(k) for k in range(4)] == [1.0, 0.5, 0.25, 0.125]
    c = cosine_decay(1.0, 0.0 + 1e-3, 10)
    assert c(0) == pytest.approx(1.0) and c(5) == pytest.approx((1.0 + 1e-3) / 2) and c(10) == pytest.approx(1e-3)
    assert c(20) == pytest.approx(1e-3)


def test_scheduler_drives_the_optimizer_lr_like_torch_lambda_lr():
    torch = pytest.importorskip("torch")
    params = [Value(1.0)]
    opt = SGD(params, lr=1.0)
    sched = Scheduler(opt, linear_decay(1.0, 0.1, 10))
    tp = [torch.tensor(1.0, dtype=torch.float64, requires_grad=True)]
    topt = torch.optim.SGD(tp, lr=1.0)
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, lambda k: 1.0 - 0.9 * k / 10)
    for _ in range(10):
        sched.step()
        (params[0] * params[0]).backward()
        opt.step()
        opt.zero_grad()
        topt.zero_grad()
        (tp[0] * tp[0]).backward()
        topt.step()
        tsched.step()
        assert params[0].data == pytest.approx(tp[0].item(), rel=1e-12)


# ---------------------------------------------------------------- linear solver


def test_solve_linear_against_numpy_and_pivoting():
    np = pytest.importorskip("numpy")
    a = [[0.0, 2.0, 1.0], [1.0, -1.0, 0.0], [3.0, 0.0, 4.0]]  # a zero first pivot needs a row swap
    b = [1.0, 2.0, 3.0]
    assert solve_linear(a, b) == pytest.approx(np.linalg.solve(np.array(a), np.array(b)).tolist(), rel=1e-13)
    rng = np.random.default_rng(0)
    m = rng.normal(size=(6, 6))
    v = rng.normal(size=6)
    assert solve_linear(m.tolist(), v.tolist()) == pytest.approx(np.linalg.solve(m, v).tolist(), rel=1e-10)


def test_solve_linear_refuses_singular_and_misshapen():
    with pytest.raises(ValueError, match="solve_linear: the matrix is singular"):
        solve_linear([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="A must be 2x2 to match b"):
        solve_linear([[1.0, 2.0]], [1.0, 2.0])


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: SGD([Value(1.0)], lr=0), ValueError, "SGD: lr must be a finite number > 0, got 0"),
        (lambda: SGD([Value(1.0)], lr=-0.1), ValueError, "SGD: lr must be a finite number > 0, got -0.1"),
        (lambda: Adam([Value(1.0)], lr=math.nan), ValueError, "Adam: lr must be a finite number > 0, got nan"),
        (lambda: AdamW([Value(1.0)], lr="fast"), TypeError, "AdamW: lr must be a finite number > 0, got str 'fast'"),
        (lambda: SGD([Value(1.0)], lr=10**400), ValueError, "SGD: lr must be a finite number > 0, got 1000000"),
        (lambda: SGD([], lr=0.1), ValueError, "SGD: params must be a non-empty list of Values, got []"),
        (lambda: SGD(Value(1.0), lr=0.1), TypeError, "SGD: params must be a non-empty list of Values, got Value "),
        (lambda: SGD([1.0], lr=0.1), TypeError, "SGD: params[0] must be a Value, got float 1.0"),
        (
            lambda: SGD([Value(1.0)], lr=0.1, momentum=-1),
            ValueError,
            "SGD: momentum must be a finite number >= 0, got -1",
        ),
        (lambda: SGD([Value(1.0)], lr=0.1, nesterov=1), TypeError, "SGD: nesterov must be True or False, got int 1"),
        (lambda: SGD([Value(1.0)], lr=0.1, nesterov=True), ValueError, "nesterov=True needs momentum > 0"),
        (
            lambda: Adam([Value(1.0)], betas=(0.9, 1.0)),
            ValueError,
            "Adam: betas[1] must be a finite number in [0, 1), got 1.0",
        ),
        (lambda: Adam([Value(1.0)], betas=0.9), TypeError, "Adam: betas must be a pair (beta1, beta2), got float 0.9"),
        (lambda: Adam([Value(1.0)], betas=(0.9,)), ValueError, "Adam: betas must be a pair (beta1, beta2), got (0.9,)"),
        (lambda: Adam([Value(1.0)], eps=-1.0), ValueError, "Adam: eps must be a finite number >= 0, got -1.0"),
        (lambda: linear_decay(1.0, 0.1, 0), ValueError, "linear_decay: steps must be a positive int, got 0"),
        (lambda: linear_decay(0.0, 0.1, 5), ValueError, "linear_decay: start must be a finite number > 0, got 0.0"),
        (lambda: linear_decay(0.1, -0.1, 5), ValueError, "linear_decay: end must be a finite number >= 0, got -0.1"),
        (
            lambda: exponential_decay(1.0, 1.5),
            ValueError,
            "exponential_decay: gamma must be a finite number in (0, 1], got 1.5",
        ),
        (
            lambda: Scheduler(SGD([Value(1.0)], lr=0.1), 0.1),
            TypeError,
            "Scheduler: schedule must be callable (step -> lr), got float 0.1",
        ),
        (
            lambda: Scheduler("sgd", constant(0.1)),
            TypeError,
            "Scheduler: optimizer must be an Optimizer, got str 'sgd'",
        ),
    ],
)
def test_bad_input_messages(call, error, message):
    with pytest.raises(error) as e:
        call()
    assert message in str(e.value)


def test_step_refuses_non_finite_gradients_and_bad_schedules():
    p = Value(1.0)
    p.grad = math.inf
    with pytest.raises(ValueError, match=r"SGD.step: params\[0\].grad is inf \(not finite\)"):
        SGD([p], lr=0.1).step()
    assert p.data == 1.0
    sched = Scheduler(SGD([Value(1.0)], lr=0.1), lambda k: -1.0)
    with pytest.raises(ValueError, match=r"Scheduler: schedule\(0\) must be a finite number > 0, got -1.0"):
        sched.step()
    sched = Scheduler(SGD([Value(1.0)], lr=0.1), lambda k: "0.1")
    with pytest.raises(TypeError, match=r"Scheduler: schedule\(0\) must be a finite number > 0, got str '0.1'"):
        sched.step()


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: Adam(ps, lr=0.01, betas=(0.85, 0.99)),
        lambda ps: Adam(ps, lr=0.02, weight_decay=0.1),
        lambda ps: AdamW(ps, lr=0.03, weight_decay=0.2),
    ],
)
def test_adam_on_arrays_is_step_bit_for_bit(make):
    """step_arrays repeats step()'s expressions on whole arrays: the same floats, step after step, and the
    two may alternate (the moments carry over)."""
    np = pytest.importorskip("numpy")
    import random

    rng = random.Random(5)
    start = [rng.gauss(0, 1) for _ in range(50)]
    on_values = [Value(x) for x in start]
    by_values, by_arrays = make(on_values), make([Value(x) for x in start])
    data = np.array(start)
    for k in range(6):
        grads = [rng.gauss(0, 1) * 10.0 ** rng.randint(-6, 2) for _ in start]
        for p, g in zip(on_values, grads):
            p.grad = g
        by_values.step()
        if k == 3:  # the array optimizer takes one step the Value way: same state, same floats
            for p, x, g in zip(by_arrays.params, data.tolist(), grads):
                p.data, p.grad = x, g
            by_arrays.step()
            data = np.array([p.data for p in by_arrays.params])
        else:
            data = by_arrays.step_arrays(data, np.array(grads))
        assert data.tolist() == [p.data for p in on_values], k
    assert by_arrays.t == by_values.t == 6


def test_adam_on_arrays_refuses_a_non_finite_gradient_and_changes_nothing():
    np = pytest.importorskip("numpy")
    adam = Adam([Value(1.0), Value(2.0)], lr=0.1)
    with pytest.raises(ValueError, match=r"Adam.step_arrays: grads\[1\] \(params\[1\]'s gradient\) is nan"):
        adam.step_arrays(np.array([1.0, 2.0]), np.array([0.5, math.nan]))
    with pytest.raises(ValueError, match=r"Adam.step_arrays: data and grads must hold one number per parameter \(2\)"):
        adam.step_arrays(np.array([1.0, 2.0, 3.0]), np.array([0.5, 0.5, 0.5]))
    assert adam.t == 0 and adam.m == [0.0, 0.0]


@pytest.mark.parametrize(
    "bad, said",
    [
        (["1.0", "2.0"], r"data\[0\] is str '1.0': only real numbers are data"),
        ([True, 2.0], r"data\[0\] is bool True"),
        ([1.0 + 2j, 2.0], r"data\[0\] is complex \(1\+2j\)"),
        ([1.0, Value(2.0)], r"data\[1\] is a Value \(data 2.0\): pass numbers, e.g. \[p.data for p in params\]"),
        ("12", r"data must be an array of real numbers, got str '12'"),
    ],
)
def test_adam_on_arrays_refuses_what_step_refuses_by_name(bad, said):
    np = pytest.importorskip("numpy")
    adam = Adam([Value(1.0), Value(2.0)], lr=0.1)
    with pytest.raises(TypeError, match=r"Adam.step_arrays: " + said):
        adam.step_arrays(bad, np.array([0.5, 0.5]))
    with pytest.raises(TypeError, match=r"Adam.step_arrays: " + said.replace("data", "grads", 1)):
        adam.step_arrays(np.array([1.0, 2.0]), bad)
    assert adam.t == 0


def test_adam_on_arrays_is_as_silent_as_step_where_numbers_overflow():
    np = pytest.importorskip("numpy")
    import warnings

    by_values, on_arrays = [Value(1.0), Value(-1e308)], [Value(1.0), Value(-1e308)]
    by_values[0].grad, by_values[1].grad = 1e300, 1e200  # g·g overflows to inf: step() gives IEEE 754 numbers
    by_arrays = Adam(on_arrays, lr=0.5, weight_decay=1e10)
    Adam(by_values, lr=0.5, weight_decay=1e10).step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a numpy RuntimeWarning would fail here
        data = by_arrays.step_arrays(np.array([1.0, -1e308]), np.array([1e300, 1e200]))
    assert list(map(repr, data.tolist())) == [repr(p.data) for p in by_values]  # nan where step() gives nan
