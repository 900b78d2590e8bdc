"""Optimizers: first order (SGD, Adam, AdamW — torch.optim's update rules) and second order
(a damped Newton step and Levenberg–Marquardt), plus learning-rate schedules.

A first-order optimizer reads ``p.grad`` (filled by ``loss.backward()``) and changes ``p.data``.
The second-order ones take a function that rebuilds the loss (or residuals) from the current
parameters, because they differentiate it themselves with ``autograd.grad`` / ``autograd.hessian``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from autograd.engine import Value, no_grad
from autograd.functional import grad, hessian, jacobian

from ._check import check_callable, check_int, check_number, check_sequence, check_type, check_values, wrong_value


class Optimizer:
    """Base class: holds ``params`` and the learning rate ``lr``; ``zero_grad()`` and ``step()``."""

    def __init__(self, params: Sequence[Value], lr: float):
        name = type(self).__name__
        self.params = check_values(params, "params", name)
        self.lr = check_number(lr, "lr", name, greater_than=0)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:  # pragma: no cover - abstract
        """Update every ``p.data`` from ``p.grad``."""
        raise NotImplementedError

    def _grads(self) -> list[float]:
        grads = []
        for i, p in enumerate(self.params):
            g = p.grad
            if isinstance(g, Value):  # after backward(create_graph=True)
                g = g.data
            if not math.isfinite(g):
                raise ValueError(f"{type(self).__name__}.step: params[{i}].grad is {g!r} (not finite)")
            grads.append(g)
        return grads


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, weight decay and Nesterov (torch.optim.SGD's rule).

    g = ∇ + λp;  b = μb + (1−τ)g (b = g on the first step);  g = g + μb (Nesterov) or b;  p ← p − lr·g.

    >>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)   # doctest: +SKIP
    """

    def __init__(
        self,
        params: Sequence[Value],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        dampening: float = 0.0,
    ):
        super().__init__(params, lr)
        self.momentum = check_number(momentum, "momentum", "SGD", at_least=0)
        self.weight_decay = check_number(weight_decay, "weight_decay", "SGD", at_least=0)
        self.dampening = check_number(dampening, "dampening", "SGD", at_least=0)
        self.nesterov = check_type(nesterov, "nesterov", "SGD", bool, "True or False")
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got momentum={momentum!r}, "
                f"dampening={dampening!r}"
            )
        self.buffers: list[float] | None = None

    def step(self) -> None:
        """p ← p − lr·g with momentum / Nesterov / weight decay as configured."""
        grads = self._grads()
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        first = self.buffers is None
        buffers = [0.0] * len(self.params) if self.buffers is None else self.buffers
        if mu:
            self.buffers = buffers
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if wd:
                g = g + wd * p.data  # L2 weight decay: ∇(½λp²) = λp
            if mu:
                b = g if first else mu * buffers[i] + (1 - self.dampening) * g
                buffers[i] = b
                g = g + mu * b if self.nesterov else b
            p.data -= lr * g


class Adam(Optimizer):
    """Adam (torch.optim.Adam's rule): m = β₁m + (1−β₁)g, v = β₂v + (1−β₂)g², p ← p − lr·m̂/(√v̂ + ε).

    m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ). ``weight_decay`` adds λp to the gradient (L2, as in torch's Adam).
    """

    decoupled = False

    def __init__(
        self,
        params: Sequence[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr)
        name = type(self).__name__
        pair = check_sequence(betas, "betas", name, "a pair (beta1, beta2)")
        if len(pair) != 2:
            raise wrong_value(name, "betas", "a pair (beta1, beta2)", betas)
        self.betas = (
            check_number(pair[0], "betas[0]", name, at_least=0, less_than=1),
            check_number(pair[1], "betas[1]", name, at_least=0, less_than=1),
        )
        self.eps = check_number(eps, "eps", name, at_least=0)
        self.weight_decay = check_number(weight_decay, "weight_decay", name, at_least=0)
        self.t = 0
        self.m: Any = [0.0] * len(self.params)  # a list, or a numpy array once step_arrays has run
        self.v: Any = [0.0] * len(self.params)

    def _next_step(self) -> tuple[float, float]:
        """t += 1; the step size lr/(1 − β₁ᵗ) and √(1 − β₂ᵗ), shared by ``step`` and ``step_arrays``."""
        self.t += 1
        b1, b2 = self.betas
        return self.lr / (1 - b1**self.t), math.sqrt(1 - b2**self.t)

    def step(self) -> None:
        """One Adam update of every parameter."""
        grads = self._grads()
        lr, (b1, b2), eps, wd = self.lr, self.betas, self.eps, self.weight_decay
        step_size, correction2_sqrt = self._next_step()
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if wd:
                if self.decoupled:
                    p.data *= 1 - lr * wd  # AdamW: p ← p − lr·λp, apart from the gradient
                else:
                    g = g + wd * p.data
            self.m[i] = m = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = v = b2 * self.v[i] + (1 - b2) * g * g
            p.data -= step_size * m / (math.sqrt(v) / correction2_sqrt + eps)

    def step_arrays(self, data: Any, grads: Any) -> Any:
        """``step()`` for parameters kept in numpy arrays: ``data`` and ``grads`` hold one number per parameter
        (in ``params``' order); returns the new numbers and leaves every ``p.data`` alone.

        The same expressions as ``step()``, in the same order, on whole arrays, so the floats are
        ``step()``'s bit for bit (tests/test_optim.py checks it). A second copy of the rule, kept for a
        measured reason: on microgpt's 4,192 parameters ``step()``, a Python loop over the Values, takes
        about 1.6 ms, five times a whole compiled training step without it (``train_gpt(compile=True)``:
        about 0.3 ms); this takes about 0.02 ms.
        """
        import numpy as np  # lazily: the arrays are numpy's

        from autograd.compile.checks import numbers_array

        name, n = type(self).__name__, len(self.params)
        data = numbers_array(data, f"{name}.step_arrays: data")
        grads = numbers_array(grads, f"{name}.step_arrays: grads")
        if data.shape != (n,) or grads.shape != (n,):
            raise ValueError(
                f"{name}.step_arrays: data and grads must hold one number per parameter ({n}), got arrays of "
                f"shape {data.shape} and {grads.shape}"
            )
        bad = np.flatnonzero(~np.isfinite(grads))
        if len(bad):
            i = int(bad[0])
            raise ValueError(f"{name}.step_arrays: grads[{i}] (params[{i}]'s gradient) is {float(grads[i])!r} "
                             "(not finite)")  # fmt: skip
        lr, (b1, b2), eps, wd = self.lr, self.betas, self.eps, self.weight_decay
        step_size, correction2_sqrt = self._next_step()
        with np.errstate(all="ignore"):  # IEEE 754 as step()'s floats give it, without numpy's warnings
            if wd:
                if self.decoupled:
                    data = data * (1 - lr * wd)
                else:
                    grads = grads + wd * data
            self.m = m = b1 * np.asarray(self.m, dtype=float) + (1 - b1) * grads
            self.v = v = b2 * np.asarray(self.v, dtype=float) + (1 - b2) * grads * grads
            return data - step_size * m / (np.sqrt(v) / correction2_sqrt + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (torch.optim.AdamW): p ← p(1 − lr·λ), then the Adam step on ∇ alone."""

    decoupled = True

    # Adam's signature again, so help() and type checkers show AdamW's own default: weight_decay 1e-2 (torch's)
    def __init__(
        self,
        params: Sequence[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ):
        super().__init__(params, lr, betas, eps, weight_decay)


# --------------------------------------------------------------------------- schedules


def constant(lr: float) -> Callable[[int], float]:
    """lr_k = lr for every step k."""
    lr = check_number(lr, "lr", "constant", greater_than=0)
    return lambda k: lr


def linear_decay(start: float, end: float, steps: int) -> Callable[[int], float]:
    """lr_k = start − (start − end)·k/steps for k ≤ steps, then end. micrograd's demo: linear_decay(1.0, 0.1, 100).

    ``end`` may be 0, microgpt's schedule lr·(1 − k/steps) for k = 0 … steps−1: linear_decay(0.01, 0.0, steps).

    >>> linear_decay(1.0, 0.1, 100)(50)     # 1.0 − 0.9·50/100
    0.55
    """
    start = check_number(start, "start", "linear_decay", greater_than=0)
    end = check_number(end, "end", "linear_decay", at_least=0)
    steps = check_int(steps, "steps", "linear_decay")
    drop = start - end
    return lambda k: start - drop * k / steps if k <= steps else end


def exponential_decay(start: float, gamma: float) -> Callable[[int], float]:
    """lr_k = start·γᵏ with 0 < γ ≤ 1."""
    start = check_number(start, "start", "exponential_decay", greater_than=0)
    gamma = check_number(gamma, "gamma", "exponential_decay", greater_than=0, at_most=1)
    return lambda k: start * gamma**k


def cosine_decay(start: float, end: float, steps: int) -> Callable[[int], float]:
    """lr_k = end + ½(start − end)(1 + cos(πk/steps)) for k ≤ steps, then end."""
    start = check_number(start, "start", "cosine_decay", greater_than=0)
    end = check_number(end, "end", "cosine_decay", greater_than=0)
    steps = check_int(steps, "steps", "cosine_decay")
    return lambda k: end + 0.5 * (start - end) * (1 + math.cos(math.pi * min(k, steps) / steps))


class Scheduler:
    """Drives ``optimizer.lr`` from a schedule: each ``step()`` sets lr = schedule(k), then k += 1.

    Call ``scheduler.step()`` before ``optimizer.step()`` (micrograd computes the rate of step k first).
    """

    def __init__(self, optimizer: Optimizer, schedule: Callable[[int], float]):
        self.optimizer = check_type(optimizer, "optimizer", "Scheduler", Optimizer, "an Optimizer")
        self.schedule = check_callable(schedule, "schedule", "Scheduler", "callable (step -> lr)")
        self.k = 0

    def step(self) -> float:
        """Set the optimizer's lr for the next update and return it."""
        lr = check_number(self.schedule(self.k), f"schedule({self.k})", "Scheduler", greater_than=0)
        self.optimizer.lr = lr
        self.k += 1
        return lr


# --------------------------------------------------------------------------- second order


def solve_linear(a: Sequence[Sequence[float]], b: Sequence[float]) -> list[float]:
    """x with A·x = b, by Gaussian elimination with partial pivoting (pure Python; A is n×n).

    >>> solve_linear([[2.0, 1.0], [1.0, 3.0]], [3.0, 5.0])   # x = (0.8, 1.4)
    [0.8, 1.4]
    """
    n = len(b)
    if len(a) != n or any(len(row) != n for row in a):
        raise ValueError(f"solve_linear: A must be {n}x{n} to match b, got {len(a)} rows")
    m = [[float(v) for v in row] + [float(bi)] for row, bi in zip(a, b)]  # augmented [A | b]
    scale = max((abs(v) for row in m for v in row[:n]), default=0.0)
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) <= 1e-14 * scale or scale == 0:
            raise ValueError(f"solve_linear: the matrix is singular (no usable pivot in column {col})")
        m[col], m[pivot] = m[pivot], m[col]
        pivot_row = m[col]
        for r in range(col + 1, n):
            factor = m[r][col] / pivot_row[col]
            if factor:
                row = m[r]
                for c in range(col, n + 1):
                    row[c] -= factor * pivot_row[c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):  # back substitution
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


def _finite_loss(value: object, where: str) -> Value:
    loss = check_type(value, "loss_fn()", where, Value, "a Value")
    if not math.isfinite(loss.data):
        raise wrong_value(where, "loss_fn()", "a finite loss", loss.data)
    return loss


def newton_step(loss_fn: Callable[[], Value], params: Sequence[Value], damping: float = 0.0) -> float:
    """One damped Newton step θ ← θ + δ with (H + λI)δ = −∇L; returns L after the step (a float).

    H and ∇L come from ``autograd.hessian`` and ``autograd.grad`` of ``loss_fn()`` (which must build the
    loss from the current ``params``). For a quadratic L and λ = 0 one step lands on the minimum.
    Returning L after the step (one more ``loss_fn()``, without a graph) shows at once whether the step
    helped — a Newton step can go uphill — and is what ``LevenbergMarquardt.step`` returns too.
    """
    params = check_values(params, "params", "newton_step")
    damping = check_number(damping, "damping", "newton_step", at_least=0)
    loss = _finite_loss(loss_fn(), "newton_step")
    g = [v.data for v in grad(loss, params)]
    h = hessian(loss, params)
    for i in range(len(params)):
        h[i][i] += damping
    delta = solve_linear(h, [-gi for gi in g])
    for p, d in zip(params, delta):
        p.data += d
    with no_grad():
        after = check_type(loss_fn(), "loss_fn()", "newton_step", Value, "a Value")
    return after.data


class Newton:
    """Damped Newton's method: ``step(loss_fn)`` solves (H + λI)δ = −∇L and moves the params by δ."""

    def __init__(self, params: Sequence[Value], damping: float = 1e-4):
        self.params = check_values(params, "params", "Newton")
        self.damping = check_number(damping, "damping", "Newton", at_least=0)

    def step(self, loss_fn: Callable[[], Value]) -> float:
        """One Newton step; returns the loss after it (as ``LevenbergMarquardt.step`` does)."""
        return newton_step(loss_fn, self.params, self.damping)


_LAMBDA_MIN, _LAMBDA_MAX = 1e-15, 1e15


class LevenbergMarquardt:
    """Levenberg–Marquardt for least squares L(θ) = ½Σ rᵢ(θ)².

    Each ``step(residuals_fn)``: J[i][j] = ∂rᵢ/∂θⱼ by reverse mode (one ``grad`` per residual),
    solve (JᵀJ + λI)δ = −Jᵀr, and accept θ + δ if it lowers L (then λ ← λ·down), otherwise
    reject it, λ ← λ·up and solve again (at most ``max_tries`` times). Small λ is Gauss–Newton,
    large λ is a short gradient-descent step. Returns L after the step (as ``Newton.step`` does):
    the lower L of an accepted step, or the unchanged L when every try was rejected.
    """

    def __init__(
        self,
        params: Sequence[Value],
        lam: float = 1e-3,
        up: float = 10.0,
        down: float = 0.1,
        max_tries: int = 30,
    ):
        name = "LevenbergMarquardt"
        self.params = check_values(params, "params", name)
        self.lam = check_number(lam, "lam", name, greater_than=0)
        self.up = check_number(up, "up", name, greater_than=1)
        self.down = check_number(down, "down", name, greater_than=0, less_than=1)
        self.max_tries = check_int(max_tries, "max_tries", name)

    def _residuals(self, residuals_fn: Callable[[], Sequence[Value]]) -> list[Value]:
        r = check_values(residuals_fn(), "residuals_fn()", "LevenbergMarquardt")
        for i, ri in enumerate(r):
            if not math.isfinite(ri.data):
                raise wrong_value("LevenbergMarquardt", f"residuals_fn()[{i}]", "finite", ri.data)
        return r

    @staticmethod
    def loss(residuals: Sequence[Value | float]) -> float:
        """½Σ rᵢ² as a float."""
        return 0.5 * sum((r.data if isinstance(r, Value) else r) ** 2 for r in residuals)

    def step(self, residuals_fn: Callable[[], Sequence[Value]]) -> float:
        """One LM iteration; returns L = ½Σr² after it (at the new parameters, or the old ones if all tries failed)."""
        params = self.params
        n = len(params)
        r = self._residuals(residuals_fn)
        cost = self.loss(r)
        jac = jacobian(r, params)  # one reverse pass per residual
        jtj = [[sum(row[i] * row[j] for row in jac) for j in range(n)] for i in range(n)]
        jtr = [sum(row[i] * ri.data for row, ri in zip(jac, r)) for i in range(n)]
        if cost == 0 or not any(jtr):
            return cost  # a stationary point: Jᵀr = ∇L = 0, nothing to improve
        start = [p.data for p in params]
        for _ in range(self.max_tries):
            a = [[jtj[i][j] + (self.lam if i == j else 0.0) for j in range(n)] for i in range(n)]
            try:
                delta = solve_linear(a, [-v for v in jtr])
                for p, s, d in zip(params, start, delta):
                    p.data = s + d
                new_cost = self.loss(self._residuals(residuals_fn))
            except (ValueError, OverflowError, ZeroDivisionError):
                new_cost = math.inf  # singular system, or the trial point left the domain: a failure
            if new_cost < cost:
                self.lam = max(self.lam * self.down, _LAMBDA_MIN)
                return new_cost
            self.lam = min(self.lam * self.up, _LAMBDA_MAX)
        for p, s in zip(params, start):
            p.data = s
        return cost
