"""Second-order methods: damped Newton (autograd.hessian) and Levenberg–Marquardt (reverse-mode Jacobian)."""

import math

import pytest

from autograd import Value, jacobian
from nn import LevenbergMarquardt, Newton, newton_step

# ---------------------------------------------------------------- Newton


def test_newton_step_on_a_quadratic_lands_on_the_minimum():
    # f(x, y) = 2x² + xy + y² − 3x + y: ∇f = (4x + y − 3, x + 2y + 1), H = [[4, 1], [1, 2]]
    # minimum where H·(x, y) = (3, −1): x = 1, y = −1
    x, y = Value(10.0), Value(-7.0)
    loss_fn = lambda: 2 * x * x + x * y + y * y - 3 * x + y  # noqa: E731
    after = newton_step(loss_fn, [x, y])
    assert (x.data, y.data) == (pytest.approx(1.0, abs=1e-12), pytest.approx(-1.0, abs=1e-12))
    assert after == pytest.approx(2 - 1 + 1 - 3 - 1, abs=1e-12)  # L(1, −1) = −2 by hand: L after the step


def test_newton_step_in_one_dimension_is_minus_f_prime_over_f_second():
    # f = x⁴ at x = 1: δ = −f'/f'' = −4/12, so x → 2/3; with damping λ: δ = −4/(12 + λ)
    x = Value(1.0)
    newton_step(lambda: x**4, [x])
    assert x.data == pytest.approx(2 / 3, rel=1e-14)
    x.data = 1.0
    newton_step(lambda: x**4, [x], damping=4.0)
    assert x.data == pytest.approx(1 - 4 / 16, rel=1e-14)


def test_damped_newton_solves_rosenbrock():
    # f = (1 − a)² + 100(b − a²)²: minimum at (1, 1); from the classic start (−1.2, 1)
    a, b = Value(-1.2), Value(1.0)
    opt = Newton([a, b], damping=1e-6)
    loss_fn = lambda: (1 - a) ** 2 + 100 * (b - a * a) ** 2  # noqa: E731
    for _ in range(30):
        opt.step(loss_fn)
    assert (a.data, b.data) == (pytest.approx(1.0, abs=1e-8), pytest.approx(1.0, abs=1e-8))


def test_newton_errors():
    x = Value(1.0)
    with pytest.raises(ValueError, match="newton_step: damping must be a finite number >= 0, got -1"):
        newton_step(lambda: x * x, [x], damping=-1)
    with pytest.raises(TypeError, match=r"newton_step: loss_fn\(\) must be a Value, got float 1.0"):
        newton_step(lambda: 1.0, [x])
    with pytest.raises(ValueError, match=r"newton_step: loss_fn\(\) must be a finite loss, got inf"):
        newton_step(lambda: x * math.inf, [x])
    with pytest.raises(ValueError, match="solve_linear: the matrix is singular"):
        newton_step(lambda: x * 3.0, [x])  # a linear function has H = 0: no Newton step
    assert x.data == 1.0
    with pytest.raises(ValueError, match=r"Newton: params must be a non-empty list of Values, got \[\]"):
        Newton([])


# ---------------------------------------------------------------- Levenberg–Marquardt

# The curve-fitting problem: y = a·exp(b·x) + c sampled without noise at 20 points of [0, 2].
XS = [2.0 * i / 19 for i in range(20)]
TRUE = (2.0, -1.5, 0.5)
YS = [TRUE[0] * math.exp(TRUE[1] * x) + TRUE[2] for x in XS]
START = (1.0, -0.5, 0.0)
TARGET = 1e-10  # L = ½Σr² below this means every parameter is right to about 1e-5


def _residuals(params):
    a, b, c = params
    return [a * (b * x).exp() + c - y for x, y in zip(XS, YS)]


def _loss(params):
    return 0.5 * sum(r * r for r in _residuals(params))


def _lm_iterations(max_iterations=50):
    params = [Value(v) for v in START]
    lm = LevenbergMarquardt(params)
    for k in range(1, max_iterations + 1):
        if lm.step(lambda: _residuals(params)) < TARGET:
            return k, params
    raise AssertionError(f"LM did not reach {TARGET} in {max_iterations} iterations")


def test_lm_fits_the_curve_exactly():
    iterations, params = _lm_iterations()
    assert [p.data for p in params] == pytest.approx(list(TRUE), abs=1e-5)
    assert iterations <= 10


def test_lm_adapts_lambda():
    params = [Value(v) for v in START]
    lm = LevenbergMarquardt(params, lam=1.0, up=10.0, down=0.1)
    before = _loss(params).data
    after = lm.step(lambda: _residuals(params))
    assert after < before and lm.lam == pytest.approx(0.1)  # a successful step shrinks λ
    # r(θ) = √θ from θ = 1 (J = ½, r = 1): with λ = 1e-3 the step δ = −Jr/(J² + λ) ≈ −2 leaves the domain
    # of √, so it is refused and λ grows ×10 until δ > −1, at λ = 1 (δ = −0.4, θ = 0.6); then λ shrinks to 0.1.
    theta = Value(1.0)
    lm = LevenbergMarquardt([theta], lam=1e-3, up=10.0, down=0.1)
    assert lm.step(lambda: [theta.sqrt()]) == pytest.approx(0.5 * 0.6)
    assert theta.data == pytest.approx(0.6) and lm.lam == pytest.approx(0.1)
    # with too few tries every trial fails: the parameters stay where they were
    theta = Value(1.0)
    lm = LevenbergMarquardt([theta], lam=1e-3, max_tries=2)
    assert lm.step(lambda: [theta.sqrt()]) == 0.5
    assert theta.data == 1.0 and lm.lam == pytest.approx(0.1)
    # at an exact solution (r = 0, so ∇L = Jᵀr = 0) a step changes nothing
    exact = [Value(v) for v in TRUE]
    lm = LevenbergMarquardt(exact)
    assert lm.step(lambda: _residuals(exact)) == 0.0
    assert [p.data for p in exact] == list(TRUE) and lm.lam == 1e-3


def test_lm_fits_a_small_tanh_network():
    # y = tanh(w·x + b)·v: noiseless data from (w, b, v) = (1.5, -0.3, 2.0)
    xs = [-1.0 + 0.2 * i for i in range(11)]
    ys = [math.tanh(1.5 * x - 0.3) * 2.0 for x in xs]
    w, b, v = Value(0.5), Value(0.0), Value(1.0)
    lm = LevenbergMarquardt([w, b, v])
    residuals = lambda: [(w * x + b).tanh() * v - y for x, y in zip(xs, ys)]  # noqa: E731
    for _ in range(40):
        loss = lm.step(residuals)
    assert loss < 1e-20
    assert (w.data, b.data, v.data) == (pytest.approx(1.5), pytest.approx(-0.3), pytest.approx(2.0))


def _with_data(value, data):
    value.data = data  # a residual whose value went bad, whatever the engine's policy for building one
    return value


def test_lm_errors():
    p = Value(1.0)
    with pytest.raises(ValueError, match="LevenbergMarquardt: lam must be a finite number > 0, got 0"):
        LevenbergMarquardt([p], lam=0)
    with pytest.raises(ValueError, match="LevenbergMarquardt: up must be a finite number > 1, got 0.5"):
        LevenbergMarquardt([p], up=0.5)
    with pytest.raises(TypeError, match="LevenbergMarquardt: max_tries must be a positive int, got float 3.0"):
        LevenbergMarquardt([p], max_tries=3.0)
    with pytest.raises(ValueError, match=r"LevenbergMarquardt: residuals_fn\(\) must be a non-empty list of Values"):
        LevenbergMarquardt([p]).step(lambda: [])
    with pytest.raises(TypeError, match=r"LevenbergMarquardt: residuals_fn\(\)\[0\] must be a Value, got float 1.0"):
        LevenbergMarquardt([p]).step(lambda: [1.0])
    with pytest.raises(ValueError, match=r"LevenbergMarquardt: residuals_fn\(\)\[1\] must be finite, got nan"):
        LevenbergMarquardt([p]).step(lambda: [p, _with_data(p * 2, math.nan)])


# ---------------------------------------------------------------- one return convention


def test_newton_and_lm_steps_both_return_the_loss_after_the_step_as_a_float():
    """Both second-order steps return L at the parameters they leave behind (what a convergence loop plots)."""
    # Newton on L = (x − 3)⁴ from x = 1: δ = −L'/L'' = −(−32)/48, x → 1 + 2/3, L = (−4/3)⁴ by hand
    x = Value(1.0)
    newton_result = Newton([x], damping=0.0).step(lambda: (x - 3) ** 4)
    assert type(newton_result) is float
    assert x.data == pytest.approx(5 / 3, rel=1e-14)
    assert newton_result == pytest.approx((4 / 3) ** 4, rel=1e-13)
    # LM on the curve fit: the returned L equals ½Σr² recomputed independently in floats at the new θ
    params = [Value(v) for v in START]
    lm_result = LevenbergMarquardt(params).step(lambda: _residuals(params))
    a, b, c = (p.data for p in params)
    independent = 0.5 * sum((a * math.exp(b * x) + c - y) ** 2 for x, y in zip(XS, YS))
    assert type(lm_result) is float
    assert lm_result == pytest.approx(independent, rel=1e-12)
    assert lm_result < 0.5 * sum((START[0] * math.exp(START[1] * x) + START[2] - y) ** 2 for x, y in zip(XS, YS))
    # the same convention on one problem: the least-squares loss of a single residual r = x − 3
    for make_step in (
        lambda p: lambda: Newton([p], damping=0.0).step(lambda: 0.5 * (p - 3) ** 2),
        lambda p: lambda: LevenbergMarquardt([p], lam=1e-12).step(lambda: [p - 3]),
    ):
        p = Value(1.0)
        result = make_step(p)()
        assert p.data == pytest.approx(3.0, rel=1e-9)
        assert result == pytest.approx(0.5 * (p.data - 3) ** 2, abs=1e-18)  # L after: ~0, not L before (2.0)


def test_jacobian_lives_beside_grad_and_hessian():
    import autograd
    import autograd.functional

    assert autograd.jacobian is autograd.functional.jacobian
    x, y = Value(2.0), Value(3.0)
    # J of (xy, x + y, sin x) by hand: [[y, x], [1, 1], [cos x, 0]]
    assert jacobian([x * y, x + y, x.sin()], [x, y]) == [[3.0, 2.0], [1.0, 1.0], [pytest.approx(math.cos(2.0)), 0.0]]
    assert jacobian(x * x, x) == [[4.0]]  # one output and one input may be given bare, as for grad
    with pytest.raises(TypeError, match=r"jacobian: inputs\[0\] must be a Value, got float"):
        jacobian([x], [2.0])


# ---------------------------------------------------------------- against sympy and numpy


def test_newton_step_matches_sympy_hessian_and_numpy_solve():
    sympy = pytest.importorskip("sympy")
    np = pytest.importorskip("numpy")
    a, b = sympy.symbols("a b")
    f = sympy.exp(a) * b**2 + sympy.sin(a * b) + a**4
    point = {a: 0.3, b: -0.8}
    g = np.array([float(sympy.diff(f, v).subs(point)) for v in (a, b)])
    h = np.array([[float(sympy.diff(f, u, v).subs(point)) for v in (a, b)] for u in (a, b)])
    damping = 0.5
    expected = np.array([0.3, -0.8]) - np.linalg.solve(h + damping * np.eye(2), g)
    x, y = Value(0.3), Value(-0.8)
    newton_step(lambda: x.exp() * y**2 + (x * y).sin() + x**4, [x, y], damping=damping)
    assert [x.data, y.data] == pytest.approx(expected.tolist(), rel=1e-12)


def test_jacobian_and_one_lm_step_match_sympy_and_numpy():
    sympy = pytest.importorskip("sympy")
    np = pytest.importorskip("numpy")
    a, b, c = sympy.symbols("a b c")
    xs = [0.0, 0.5, 1.0, 1.5]
    ys = [1.0, 2.0, 2.5, 2.0]
    r_sym = [a * sympy.exp(b * x) + c - y for x, y in zip(xs, ys)]
    point = {a: 1.0, b: -0.5, c: 0.2}
    jac = np.array([[float(sympy.diff(r, v).subs(point)) for v in (a, b, c)] for r in r_sym])
    r0 = np.array([float(r.subs(point)) for r in r_sym])
    params = [Value(v) for v in point.values()]
    residuals = lambda: [params[0] * (params[1] * x).exp() + params[2] - y for x, y in zip(xs, ys)]  # noqa: E731
    assert jacobian(residuals(), params) == [pytest.approx(row, rel=1e-13) for row in jac.tolist()]
    # the LM rule in numpy: (JᵀJ + λI)δ = −Jᵀr, accept if ½‖r(θ + δ)‖² drops, else λ ← 10λ and retry
    theta0 = np.array([1.0, -0.5, 0.2])

    def cost(theta):
        return 0.5 * sum((theta[0] * np.exp(theta[1] * x) + theta[2] - y) ** 2 for x, y in zip(xs, ys))

    lam = 1e-3
    while True:
        delta = np.linalg.solve(jac.T @ jac + lam * np.eye(3), -jac.T @ r0)
        if cost(theta0 + delta) < cost(theta0):
            break
        lam *= 10
    lm = LevenbergMarquardt(params, lam=1e-3, up=10.0, down=0.1)
    assert lm.step(residuals) == pytest.approx(cost(theta0 + delta), rel=1e-12)
    assert [p.data for p in params] == pytest.approx((theta0 + delta).tolist(), rel=1e-12)
    assert lm.lam == pytest.approx(lam * 0.1)
    with pytest.raises(TypeError, match=r"jacobian: outputs\[1\] must be a Value, got float"):
        jacobian([params[0], 1.0], params)
