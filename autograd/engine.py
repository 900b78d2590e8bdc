"""The engine: ``Value``, a scalar that remembers how it was computed, and reverse accumulation.

Every operation on ``Value``s computes a float and returns a new node holding its
parents, its op and the *local* partial derivatives of the result with respect to each
parent. Together these nodes are the adjoint graph. ``backward()`` walks it once in
reverse topological order and applies the chain rule at each node,

    parent.grad += node.grad * ∂node/∂parent,

which is reverse accumulation (backpropagation): the gradient of one output with
respect to every input for about the cost of one extra forward pass (Wikipedia,
"Backpropagation", the sections "Adjoint graph" and "Derivation").

This file is the reference engine, written to be read top to bottom:

1. the rule table: one ``Op`` per primitive, with its forward function and its local
   partial derivatives, on one screen;
2. ``Value``: every operation goes through the rule table and one node constructor;
3. ``backward()``: one topological order, one chain-rule loop.

The partials are written with arithmetic and this module's functions (``exp``, ``log``,
``sin``, ...), so one rule evaluates on floats (``backward``), on ``Value``s
(``create_graph=True``, higher derivatives) and on numpy arrays (``autograd.compile``).

Speed: ``autograd/_fast.py`` installs speed-tuned copies of the hot paths over this
reference when the module is imported (as CPython's ``heapq`` is replaced by ``_heapq``);
``STEPGRAD_PURE=1`` in the environment runs this reference alone. Both pass one test suite.

Numbers follow IEEE 754 as in PyTorch, with one exception: a result too large for a float
is ±inf (``exp(1000)``), infinities and nan flow through; but an operation with no value
at all at its input raises an error naming it — ``log`` of x ≤ 0, ``sqrt`` of x < 0,
division by zero, 0 to a negative power, a negative base to a fractional power, ``sin``
and ``cos`` of ±inf. Derivatives never raise: an infinite one is ±inf (the limit), and a
contribution through a zero factor is 0, never 0·∞ = nan.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Union

from . import arrays, modes
from . import op as _op
from .graph import topological_order
from .modes import Scope
from .modes import auto_scope as auto_scope  # noqa: F401 - engine's public names, defined in modes
from .modes import is_grad_enabled as is_grad_enabled  # noqa: F401
from .modes import no_grad as no_grad  # noqa: F401
from .modes import scope as scope  # noqa: F401
from .op import Op as Op  # the class of the rules below (autograd/op.py): symbol, forward, partials, name, array, total

Number = Union[int, float]
Operand = Union["Value", int, float]


# =========================================================================== 1. the rules


# THE RULE TABLE. Each primitive: its symbol, its forward function, and its local partial
# derivatives ∂out/∂input, one per input (``out`` is the result, reused where it helps); below it, its
# public function's name (``autograd.exp``, ``exp(x)`` on the command line), ``total=True`` if it has a
# value at every input, and its forward on numpy arrays (given numpy). A new primitive is one more line.
# fmt: off
ADD      = Op("+",        lambda a, b: a + b,          lambda a, b, out: (1.0, 1.0))
MUL      = Op("*",        lambda a, b: a * b,          lambda a, b, out: (b, a),
                          total=True, array=lambda np: np.multiply)
DIV      = Op("/",        lambda a, b: _divide(a, b),  lambda a, b, out: (1 / b, -out / b),
                          array=lambda np: np.divide)
POW      = Op("**",       lambda x, y: _pow(x, y),     lambda x, y, out: (
    where(_is_zero(x) & _is_zero(y), 0.0, y * x ** (y - 1)),       # y·x^(y−1)  (0 at 0⁰, as PyTorch)
    where(_is_zero(x) & (_number(y) >= 0), 0.0, out * log(x))),    # x^y·ln x   (0 at x = 0, as PyTorch)
                          array=lambda np: np.power)
SUM      = Op("+",        lambda *xs: _left_sum(xs),   lambda *xs_out: (1.0,) * (len(xs_out) - 1),  # x₀ + x₁ + …
                          total=True)
EXP      = Op("exp",      lambda x: _exp(x),           lambda x, out: (out,),
                          name="exp", total=True, array=lambda np: np.exp)
LOG      = Op("log",      lambda x: _log(x),           lambda x, out: (1 / x,),
                          name="log", array=lambda np: np.log)
SQRT     = Op("sqrt",     lambda x: _sqrt(x),          lambda x, out: (0.5 / out,),
                          name="sqrt", array=lambda np: np.sqrt)
TANH     = Op("tanh",     math.tanh,                   lambda x, out: (1 - out * out,),
                          name="tanh", total=True, array=lambda np: np.tanh)
SIGMOID  = Op("sigmoid",  lambda x: _sigmoid(x),       lambda x, out: (out * (1 - out),),
                          name="sigmoid", total=True, array=arrays.sigmoid)
RELU     = Op("ReLU",     lambda x: 0.0 if x < 0 else x,  lambda x, out: (step(x),),  # 0 at the kink, as PyTorch
                          name="relu", total=True, array=arrays.relu)
SOFTPLUS = Op("softplus", lambda x: _softplus(x),      lambda x, out: (sigmoid(x),),
                          name="softplus", total=True, array=arrays.softplus)
SIN      = Op("sin",      lambda x: _sin(x),           lambda x, out: (cos(x),),
                          name="sin", array=lambda np: np.sin)
COS      = Op("cos",      lambda x: _cos(x),           lambda x, out: (-sin(x),),
                          name="cos", array=lambda np: np.cos)
ABS      = Op("abs",      abs,                         lambda x, out: (sign(x),),
                          name="abs", total=True, array=lambda np: np.abs)
MAX      = Op("max",      lambda *xs: _max(xs),        lambda *xs_out: _max_partials(xs_out),  # 1 to the largest xᵢ
                          name="maximum", array=arrays.maximum)
# fmt: on


def power(k: Number) -> Op:
    """The op x ↦ x**k for a constant k (micrograd's symbol ``**k``); ∂/∂x = k·x^(k−1)."""
    key = (type(k), k)
    op = _powers.get(key)
    if op is None:
        kf = _real(k, "**")
        partials = (lambda x, out: (0.0,)) if kf == 0 else (lambda x, out: (kf * x ** (kf - 1),))
        op = Op(f"**{k}", lambda x: _pow(x, kf), partials, array=arrays.power(kf))
        op._remake = (power, (k,))
        if len(_powers) < 4096:
            _powers[key] = op
    return op


def leaky_relu_op(alpha: float = 0.01) -> Op:
    """The op x ↦ x for x > 0, αx otherwise; ∂/∂x = 1 or α."""
    alpha = _real(alpha, "leaky_relu(alpha=...)")
    op = _leaky.get(alpha)
    if op is None:
        name = "leaky_relu" if alpha == 0.01 else f"leaky_relu({alpha})"
        op = Op(
            name,
            lambda x: x if x > 0 else alpha * x,
            lambda x, out: (where(_number(x) > 0, 1.0, alpha),),
            total=True,
            array=arrays.leaky_relu(alpha),
        )
        op._remake = (leaky_relu_op, (alpha,))
        if len(_leaky) < 256:
            _leaky[alpha] = op
    return op


_powers: dict[tuple[type, Number], Op] = {}
_leaky: dict[float, Op] = {}

# The registry. TABLE: every op of the table, by its name here (pickled by that name: unpickling gives this
# very op); PRIMITIVES: the ones with a public name, by that name. Both in table order.
TABLE: dict[str, Op] = {}
PRIMITIVES: dict[str, Op] = {}
for _name, _rule in list(globals().items()):
    if isinstance(_rule, Op):
        _rule._remake, _rule.__module__ = _name, __name__  # pickle finds it as autograd.engine.<name>
        TABLE[_name] = _rule
        if _rule.name is not None:
            PRIMITIVES[_rule.name] = _rule


# ---- the forward functions: IEEE 754 values, and a named error where there is no value at all


def _undefined(limit: float, message: str, error: type[Exception] = ValueError) -> float:
    """An input where the operation has no value: raise ``error`` — or, while derivatives are
    evaluated (``modes.limits``), return the limit, so a derivative is ±inf or nan, never an error."""
    if modes.in_limits():
        return limit
    raise error(message)


def _divide(a: float, b: float) -> float:
    if b:
        return a / b
    limit = math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return _undefined(limit, f"division by zero: {a} / {b}", ZeroDivisionError)


def _pow(x: float, k: float) -> float:
    if x < 0 and math.isfinite(k) and not float(k).is_integer():
        return _undefined(math.nan, f"({x}) ** {k} is undefined: a negative base needs an integer exponent")
    odd = float(k).is_integer() and k % 2 == 1  # x ** odd keeps the sign of x
    if x == 0 and k < 0:
        limit = math.copysign(math.inf, x) if odd else math.inf
        message = f"{x} ** {k} is undefined: zero to a negative power divides by zero"
        return _undefined(limit, message, ZeroDivisionError)
    try:
        return float(x**k)
    except OverflowError:  # too large for a float: ±inf, as IEEE 754 and PyTorch give
        return math.copysign(math.inf, x) if odd else math.inf


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(x: float) -> float:
    if x > 0 or x != x:
        return math.log(x)
    return _undefined(-math.inf if x == 0 else math.nan, f"log() of {x} is undefined: log needs a positive input")


def _sqrt(x: float) -> float:
    if x >= 0 or x != x:
        return math.sqrt(x)
    return _undefined(math.nan, f"sqrt() of {x} is undefined: sqrt needs a non-negative input")


def _sin(x: float) -> float:
    if math.isinf(x):
        return _undefined(math.nan, f"sin() of {x} is undefined: sin has no limit at infinity")
    return math.sin(x)


def _cos(x: float) -> float:
    if math.isinf(x):
        return _undefined(math.nan, f"cos() of {x} is undefined: cos has no limit at infinity")
    return math.cos(x)


def _sigmoid(x: float) -> float:
    if x >= 0:  # stable on both sides: never exponentiates a large positive number
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))  # ln(1 + e^x) without overflow


def _max(xs: Sequence[Any]) -> Any:
    """The largest of x₀, x₁, … (nan if any is nan; the first of equal ones, so max(-0.0, 0.0) = -0.0).

    Written with ``where``, so the same loop gives the float on floats and, element by element, the
    same numbers on numpy arrays (the compiled replay's forward)."""
    if not xs:
        raise TypeError("max() needs at least one input")
    m = xs[0]
    for x in xs[1:]:
        m = where((x > m) | (x != x), x, m)
    return m


def _max_partials(xs_out: Sequence[Any]) -> tuple[Any, ...]:
    """∂max/∂xᵢ = 1/k where xᵢ is one of the k inputs equal to the max (nan counts as the max), else 0.

    Between the kinks this is the derivative (1 for the largest input); at a tie it splits the one unit
    evenly, as PyTorch's ``amax`` and ``maximum`` do, so the partials always sum to 1 (max(x, x) = x has
    derivative 1) and ``max(z)`` shifts every input alike. A constant: max's second derivative is 0."""
    out = _number(xs_out[-1])
    hits = [1.0 * ((x == out) | (x != x)) for x in map(_number, xs_out[:-1])]
    total = _left_sum(hits)
    return tuple(h / total for h in hits)


def _left_sum(xs: Sequence[float]) -> float:
    total = 0.0
    for x in xs:
        total = total + x
    return total


# ---- helpers the partials use: each works on floats, Values and numpy arrays


def _number(x: Any) -> Any:
    """The number(s) inside x: a Value's data, or x itself (a float or an array)."""
    return x._data if isinstance(x, Value) else x


def _is_zero(x: Any) -> Any:
    return _number(x) == 0


def step(x: Any) -> Any:
    """1 where x > 0, else 0 (relu's derivative; a constant, so its own derivative is 0)."""
    return 1.0 * (_number(x) > 0)


def sign(x: Any) -> Any:
    """1 where x > 0, -1 where x < 0, 0 at 0 (the derivative of |x|)."""
    x = _number(x)
    return 1.0 * (x > 0) - 1.0 * (x < 0)


def where(condition: Any, a: Any, b: Any) -> Any:
    """a where the condition holds, else b (numpy's ``where``: both sides are evaluated)."""
    if isinstance(condition, (bool, int)):
        return a if condition else b
    return _ARRAY_FUNCTIONS["where"](condition, a, b)


# ---- the ops as functions of a number, a Value or an array: exp(x), log(x), ...

# Implementations of the primitives on numpy arrays, registered by the compiled replay (the
# engine itself never imports numpy): {EXP: numpy.exp, ..., "where": numpy.where}.
_ARRAY_FUNCTIONS: dict[Any, Callable[..., Any]] = {}


def _function(op: Op, name: str) -> Callable[[Any], Any]:
    """The op as a function of a number (a float back), a Value (a node back) or an array."""

    def function(x: Any) -> Any:
        if isinstance(x, Value):
            return op(x)
        if isinstance(x, _Limit):  # inside a rule re-evaluated in limit arithmetic: stay in it
            return _Limit(op.forward(float(x)))
        if isinstance(x, numbers.Real):
            return op.forward(_real(x, f"{name}()"))
        array_function = _ARRAY_FUNCTIONS.get(op)
        if array_function is None:
            _real(x, f"{name}()")  # raises: names the function and the type
        return array_function(x)  # type: ignore[misc]

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{name}(x) for a number x (a float), a Value x (a graph node) or a numpy array."
    return function


def maximum(*xs: Any) -> Any:
    """max(x₀, x₁, …) as one node if any xᵢ is a Value (∂/∂xᵢ = 1 for the largest, 1/k each for k tied),
    a float for numbers, element by element for numpy arrays.

    >>> a, b = Value(2.0), Value(5.0)
    >>> m = maximum(a, b); m.backward(); (m.data, a.grad, b.grad)
    (5.0, 0.0, 1.0)
    """
    if not xs:
        raise TypeError("maximum() needs at least one input")
    if any(isinstance(x, Value) for x in xs):
        return MAX(*xs)
    if all(isinstance(x, numbers.Real) for x in xs):
        return MAX.forward(*[_real(x, "maximum()") for x in xs])
    array_function = _ARRAY_FUNCTIONS.get(MAX)
    if array_function is None:
        for x in xs:
            _real(x, "maximum()")  # raises: names the function and the type
    return array_function(*xs)  # type: ignore[misc]


# The public functions, one per named op of the table, by name: a one-input op's is made by _function, an
# op of several inputs has its own written above (maximum). autograd exports them; the command line calls them.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: _function(op, name) if op.arity == 1 else globals()[name] for name, op in PRIMITIVES.items()
}
exp: Callable[[Any], Any] = FUNCTIONS["exp"]
log: Callable[[Any], Any] = FUNCTIONS["log"]
sqrt: Callable[[Any], Any] = FUNCTIONS["sqrt"]
tanh: Callable[[Any], Any] = FUNCTIONS["tanh"]
sigmoid: Callable[[Any], Any] = FUNCTIONS["sigmoid"]
relu: Callable[[Any], Any] = FUNCTIONS["relu"]
softplus: Callable[[Any], Any] = FUNCTIONS["softplus"]
sin: Callable[[Any], Any] = FUNCTIONS["sin"]
cos: Callable[[Any], Any] = FUNCTIONS["cos"]


# =========================================================================== 2. Value


def _real(x: Any, where: str) -> float:
    """``x`` as a float, or an error naming ``where`` and the offending value."""
    if isinstance(x, numbers.Real) and not isinstance(x, Value):
        try:
            return float(x)
        except OverflowError:
            digits = f" ({len(str(abs(x)))} digits)" if isinstance(x, int) else ""
            raise OverflowError(f"{where}: the number {_shown(x)}{digits} is too large for a float") from None
    raise TypeError(f"{where} needs a real number or a Value, got {type(x).__name__} {_shown(x)}")


def _shown(x: Any) -> str:
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) > 10**30:
        text = str(x)
        return f"{text[:12]}...{text[-6:]}"
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


class Value:
    """A scalar in a computation graph: ``data`` (a float), ``grad`` (∂root/∂self after backward).

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> c = a * b + b**2        # c = ab + b²
    >>> c.backward()            # ∂c/∂a = b = -3, ∂c/∂b = a + 2b = -4
    >>> a.grad, b.grad
    (-3.0, -4.0)

    The constructor also accepts micrograd's ``Value(data, _children, _op)`` and microgpt's
    ``Value(data, children, local_grads)`` for nodes built by hand. Like any Python object, a
    ``Value`` takes attributes of your own (``p.m = 0.0`` for an optimizer's state).
    """

    # A node holds its float, its gradient, the op that made it, its parents (the values it
    # was computed from, in operand order) and the local derivative ∂self/∂parent for each.
    __slots__ = ("_data", "grad", "_op", "_parents", "_local_grads", "__dict__")
    __array_ufunc__ = None  # numpy scalars and arrays defer to Value's reflected operators
    _label = ""  # class defaults: a node stores these only when it has them (in __dict__)
    _scope: Scope | None = None

    def __new__(cls, data: Number | Value = 0.0, *args: Any, **kwargs: Any) -> Value:
        """``Value(v)`` of a Value ``v`` is ``v`` itself (as ``numpy.asarray`` of an array, ``jnp.asarray`` of a
        tracer): code that wraps its inputs, ``model([Value(a), Value(b)])``, works when they are Values
        already, and gradients reach them. To copy a number instead: ``Value(v.data)``."""
        if isinstance(data, Value):
            if args or kwargs:
                raise TypeError(
                    "Value(v) of a Value v is v itself and takes no other arguments; to make a new node from its "
                    "number, use Value(v.data, ...)"
                )
            return data
        return object.__new__(cls)

    def __init__(
        self,
        data: Number | Value,
        _children: Sequence[Value] | str = (),
        _op: str | Sequence[Any] = "",
        label: str = "",
        *,
        children: Sequence[Value] | None = None,
        local_grads: Sequence[Any] | None = None,
    ):
        if data is self:  # Value(v) of a Value: __new__ returned v itself, already made
            return
        if isinstance(_children, str):  # Value(2.0, "a"): a label given positionally
            label = _children
        given = children if children is not None else () if isinstance(_children, str) else _children
        if local_grads is None and not isinstance(_op, str):  # microgpt: Value(data, children, local_grads)
            _op, local_grads = "", _op
        self._data = data if type(data) is float else _real(data, "Value()")
        self.grad: Any = 0.0
        self._op: Any = _op
        self._parents: tuple[Value, ...] = tuple(given)
        if not self._parents:
            self._local_grads: tuple[Any, ...] | None = ()
        elif local_grads is None:  # micrograd: its maker assigns a _backward closure
            self._local_grads = None
        else:
            self._local_grads = tuple(local_grads)
            if len(self._local_grads) != len(self._parents):
                raise ValueError(f"Value(): {len(self._parents)} children but {len(self._local_grads)} local_grads")
        for i, parent in enumerate(self._parents):
            if not isinstance(parent, Value):
                raise TypeError(f"Value(): children[{i}] must be a Value, got {type(parent).__name__}")
        if label != "":
            self.label = label  # checked: a label is a string
        if modes.active:
            modes.record(self)

    # ---- what a node is

    @property
    def data(self) -> float:
        """The number this node holds."""
        if modes.active:
            modes.note_read(self)
        return self._data

    @data.setter
    def data(self, value: Number) -> None:
        if isinstance(value, Value):
            raise TypeError(
                "Value.data must be a number, got a Value (after backward(create_graph=True) every .grad is a "
                "Value: use its number, p.data -= lr * p.grad.data)"
            )
        self._data = value if type(value) is float else _real(value, "Value.data")

    @property
    def label(self) -> str:
        """A name for drawings and the stepper ('' unless given: nodes made by operations have none)."""
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        if not isinstance(label, str):
            raise TypeError(f"a Value's label must be a string, got {type(label).__name__} {_shown(label)}")
        self._label = label

    @property
    def parents(self) -> tuple[Value, ...]:
        """The nodes this value was computed from, in operand order (``a * a`` has ``(a, a)``)."""
        return self._parents

    @property
    def op(self) -> Any:
        """The ``Op`` that produced this value ('' for a leaf; micrograd's string for a hand-built node)."""
        return self._op

    @property
    def local_grads(self) -> tuple[Any, ...]:
        """∂self/∂parent for each parent, evaluated at the forward values."""
        if modes.active and self._parents:
            modes.note_read(self)  # numbers of the forward pass, as .data is
        return self._local_grads if self._local_grads is not None else ()

    @property
    def scope(self) -> Scope | None:
        """The innermost ``Scope`` this node was made in, or None."""
        return self._scope

    @property
    def is_constant(self) -> bool:
        """True for a leaf made from a Python number by an operation (the 2 in ``x * 2``)."""
        return self._op is CONSTANT

    @property
    def _prev(self) -> set[Value]:
        """The parents as a set (micrograd's name)."""
        return set(self._parents)

    @property
    def _children(self) -> tuple[Value, ...]:
        """The parents (microgpt's name: the values this one was computed from)."""
        return self._parents

    def _make_leaf(self) -> None:
        """Forget how this node was made (``no_grad``): no parents, no op (a constant stays marked)."""
        self._parents = ()
        self._local_grads = ()
        if self._op is not CONSTANT:
            self._op = ""

    def __repr__(self) -> str:  # also str(), format() and f-strings: they show the number, so they read it
        if modes.active:
            modes.note_read(self)
        extra = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self._data}, grad={self.grad}{extra})"

    # Order compares the data, so max(values) and sorted(values) work. Equality stays
    # identity, as in micrograd: Values are graph nodes and live in sets and dicts.
    def __lt__(self, other: Operand) -> bool:
        a, b = _compared(self, other)
        return a < b

    def __le__(self, other: Operand) -> bool:
        a, b = _compared(self, other)
        return a <= b

    def __gt__(self, other: Operand) -> bool:
        a, b = _compared(self, other)
        return a > b

    def __ge__(self, other: Operand) -> bool:
        a, b = _compared(self, other)
        return a >= b

    __hash__ = object.__hash__

    # ---- operations: each one is a rule of the table

    def __add__(self, other: Operand) -> Value:  # self + other
        return ADD(self, _checked(other, "+"))

    def __mul__(self, other: Operand) -> Value:  # self · other
        return MUL(self, _checked(other, "*"))

    def __truediv__(self, other: Operand) -> Value:  # self / other
        # Division has its own rule rather than self · other⁻¹ (micrograd's way): the
        # composition rounds other⁻¹, and a learner can see it — ∂(x/x)/∂x is exactly 0 with
        # this rule, and about 3e-5 through the composition at x = −7.1e-12 under leaky_relu.
        return DIV(self, _checked(other, "/"))

    def __pow__(self, other: Operand) -> Value:  # self ** other
        if isinstance(other, Value):
            return POW(self, other)
        exponent = other if type(other) is int or type(other) is float else _checked(other, "**")
        return power(exponent)(self)

    def exp(self) -> Value:
        """e^x; ∂/∂x = e^x."""
        return EXP(self)

    def log(self) -> Value:
        """ln x for x > 0; ∂/∂x = 1/x."""
        return LOG(self)

    def sqrt(self) -> Value:
        """√x for x ≥ 0; ∂/∂x = 1/(2√x)."""
        return SQRT(self)

    def tanh(self) -> Value:
        """tanh x; ∂/∂x = 1 - tanh²x."""
        return TANH(self)

    def sigmoid(self) -> Value:
        """σ(x) = 1/(1 + e^-x); ∂/∂x = σ(x)(1 - σ(x))."""
        return SIGMOID(self)

    def relu(self) -> Value:
        """max(0, x); ∂/∂x = 1 for x > 0, else 0 (0 at the kink, as in micrograd and PyTorch)."""
        return RELU(self)

    def leaky_relu(self, alpha: float = 0.01) -> Value:
        """x for x > 0, else αx; ∂/∂x = 1 or α."""
        return leaky_relu_op(alpha)(self)

    def softplus(self) -> Value:
        """ln(1 + e^x); ∂/∂x = σ(x)."""
        return SOFTPLUS(self)

    def sin(self) -> Value:
        """sin x; ∂/∂x = cos x."""
        return SIN(self)

    def cos(self) -> Value:
        """cos x; ∂/∂x = -sin x."""
        return COS(self)

    def __abs__(self) -> Value:
        """|x|; ∂/∂x = sign x (0 at 0)."""
        return ABS(self)

    # ---- composed from the primitives (micrograd's graph)

    def __neg__(self) -> Value:  # -self
        return self * -1

    def __radd__(self, other: Operand) -> Value:  # other + self, built as self + other (micrograd's graph)
        return self + other

    def __sub__(self, other: Operand) -> Value:  # self - other = self + (-other)
        return self + -_checked(other, "-")  # type: ignore[no-any-return]

    def __rsub__(self, other: Operand) -> Value:  # other - self = other + (-self)
        return _checked(other, "-") + -self  # type: ignore[no-any-return]

    def __rmul__(self, other: Operand) -> Value:  # other · self, built as self · other (micrograd's graph)
        return self * other

    def __rtruediv__(self, other: Operand) -> Value:  # other / self
        return DIV(_checked(other, "/"), self)

    def __rpow__(self, other: Operand) -> Value:  # other ** self, e.g. 2 ** x
        return POW(_checked(other, "**"), self)

    # ---- 3. reverse accumulation

    def backward(self, gradient: Operand = 1.0, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node upstream with ∂self/∂node (times ``gradient``).

        Leaves (inputs, parameters) accumulate across calls, as in PyTorch: call
        ``zero_grad()`` between steps. Intermediate nodes are recomputed by every call.
        With ``create_graph=True`` the gradients are ``Value``s with graphs of their own,
        so they can be differentiated again (``x.grad.backward()``).
        """
        if create_graph:
            _backward_with_graph(self, gradient)
            return
        order = topological_order(self)
        for node in order:
            if node._parents:
                node.grad = 0.0
        self.grad += _number_of(gradient, "backward(gradient=...)")
        for node in reversed(order):
            if node._parents:
                node._backward()

    def _backward(self) -> None:
        """The chain rule at one node: parent.grad += self.grad · ∂self/∂parent, for each parent.

        micrograd's name: code written for micrograd may assign a closure of its own to any
        node (``out._backward = fn``), and ``backward()`` calls it instead.
        """
        if self._local_grads is None:
            raise RuntimeError(
                f"node {self!r} (op {self._op!r}) was built with Value(data, children, op) and has no "
                "derivative rule: assign it a _backward closure (micrograd style), pass local_grads (microgpt "
                "style), or declare the operation with autograd.Op"
            )
        g = self.grad
        for parent, local in zip(self._parents, self._local_grads):
            if g and local:  # a zero factor contributes nothing (and 0 · ∞ must not become nan)
                parent.grad += g * local


def _own_backward(node: Value) -> Callable[[], None] | None:
    """The ``_backward`` closure assigned to this node (micrograd style), or None."""
    return _attributes(node).get("_backward")


def _attributes(node: Value) -> dict[str, Any]:
    """The node's own attributes (label, scope, user's), without creating an empty ``__dict__``."""
    state: Any = node.__getstate__()
    return state[0] or {}


# ---- the one node constructor, and the operands it is built from


def _node(data: float, parents: tuple[Value, ...], op: Any, local: tuple[Any, ...] | None) -> Value:
    """A new node of the adjoint graph: ``data``, made by ``op`` from ``parents``; ``local[i]`` = ∂node/∂parents[i]."""
    node = object.__new__(Value)
    node._data = data
    node.grad = 0.0
    node._op = op
    node._parents = parents
    node._local_grads = local
    if modes.active:
        modes.record(node)
    return node


def _apply(op: Op, args: Sequence[Operand]) -> Value:
    """``op`` applied to ``args``: the forward value and the local partials at that point."""
    parents = tuple(a if isinstance(a, Value) else _constant(a, op) for a in args)
    xs = [p._data for p in parents]
    out = op.forward(*xs)
    if type(out) is not float:
        out = _real(out, f"op {str(op)!r}: forward")
    return _node(out, parents, op, _partials_at(op, xs, out))


_op._apply_op = _apply  # Op.__call__ (autograd/op.py) applies an op with this


def _partials_at(op: Op, xs: Sequence[float], out: float) -> tuple[Any, ...]:
    """``op.partials`` at the numbers ``xs``. At a singular point (1/0, log 0, 0**-1) Python's
    float arithmetic raises; there the rule is evaluated again in limit arithmetic (±inf, nan)."""
    try:
        local = op.partials(*xs, out)
    except (ZeroDivisionError, OverflowError, ValueError):
        with modes.limits():
            local = op.partials(*[_Limit(x) for x in xs], _Limit(out))
        local = tuple(float(d) if isinstance(d, _Limit) else d for d in _checked_partials(op, local, len(xs)))
    if type(local) is not tuple or len(local) != len(xs):
        local = _checked_partials(op, local, len(xs))
    return local


def _checked_partials(op: Op, local: Any, n: int) -> tuple[Any, ...]:
    """A user's partials as a tuple of n derivatives, or an error naming the op."""
    if not isinstance(local, (tuple, list)):
        local = (local,)
    if len(local) != n:
        raise ValueError(f"op {str(op)!r}: partials gave {len(local)} derivatives for {n} inputs")
    return tuple(local)


class _Limit(float):
    """A float whose / and ** give the IEEE 754 limit (±inf, nan) where Python's raise; every
    operation a rule may use on it (arithmetic, abs, autograd's functions) gives a ``_Limit`` again."""

    def __truediv__(self, other: Any) -> Any:
        return _Limit(_divide(float(self), float(other)))

    def __rtruediv__(self, other: Any) -> Any:
        return _Limit(_divide(float(other), float(self)))

    def __pow__(self, other: Any) -> Any:  # type: ignore[override]
        return _Limit(_pow(float(self), float(other)))

    def __rpow__(self, other: Any) -> Any:  # type: ignore[override]
        return _Limit(_pow(float(other), float(self)))

    def __add__(self, other: Any) -> Any:
        return _Limit(float(self) + float(other)) if isinstance(other, numbers.Real) else NotImplemented

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return _Limit(float(self) - float(other)) if isinstance(other, numbers.Real) else NotImplemented

    def __rsub__(self, other: Any) -> Any:
        return _Limit(float(other) - float(self)) if isinstance(other, numbers.Real) else NotImplemented

    def __mul__(self, other: Any) -> Any:
        return _Limit(float(self) * float(other)) if isinstance(other, numbers.Real) else NotImplemented

    __rmul__ = __mul__

    def __neg__(self) -> Any:
        return _Limit(-float(self))

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return _Limit(abs(float(self)))


def _checked(x: Any, where: str) -> Any:
    """``x`` as an operand of ``where``: a Value as it is, a number as a float (it becomes a constant)."""
    if isinstance(x, Value) or type(x) is float:
        return x
    return _real(x, where)


def _constant(x: Any, where: str) -> Value:
    """A number as a leaf node marked constant (micrograd's ``Value(other)``)."""
    node = _node(x if type(x) is float else _real(x, where), (), CONSTANT, ())
    return node


def _compared(a: Value, other: Operand) -> tuple[float, float]:
    """The numbers a comparison orders. A comparison reads them like ``.data``: while a mode is on,
    the reads are reported (``autograd.compile``'s tracers freeze such numbers, and say so)."""
    if modes.active:
        modes.note_read(a)
        if isinstance(other, Value):
            modes.note_read(other)
    return a._data, _number_of(other)


def _number_of(x: Operand, where: str = "comparison") -> float:
    """The float inside ``x`` (a Value or a number)."""
    if isinstance(x, Value):
        return x._data
    return _real(x, where)


class _ConstantMark(str):
    """The op of a constant: an empty symbol (so ``if node._op:`` treats it as a leaf), but marked."""

    def __reduce__(self) -> str:
        return "CONSTANT"  # pickled by name: unpickling gives this very marker


CONSTANT = _ConstantMark("")


# ---- sums and dot products as one n-ary node


def sum_values(values: Sequence[Operand], start: Operand = 0.0) -> Value:
    """start + v₀ + v₁ + … as one n-ary ``+`` node; ∂/∂vᵢ = 1 for every term.

    The sum is accumulated left to right, so ``.data`` is what Python's
    ``sum(values, start)`` gives, but the graph has one node instead of a chain of
    len(values) binary ``+`` nodes. A ``start`` of 0 adds no term.
    """
    terms = [v if isinstance(v, Value) else _constant(v, "sum_values") for v in values]
    if isinstance(start, Value) or _real(start, "sum_values(start=...)") != 0:
        terms.insert(0, start if isinstance(start, Value) else _constant(start, "sum_values(start=...)"))
    if not terms:
        return _constant(0.0, "sum_values")
    return SUM(*terms)


def dot(weights: Sequence[Operand], inputs: Sequence[Operand], start: Operand = 0.0) -> Value:
    """start + w₀·x₀ + w₁·x₁ + … (a neuron's pre-activation Σ wᵢxᵢ + b).

    One ``*`` node per product and one n-ary ``+`` node for the sum (``sum_values``):
    the same floats as ``sum((w * x for w, x in zip(weights, inputs)), start)``, and
    the same gradients, from a graph about half the size of that chain of binary ``+``.
    """
    if len(weights) != len(inputs):
        raise ValueError(f"dot: {len(weights)} weights but {len(inputs)} inputs")
    products = [MUL(_checked(w, "*"), _checked(x, "*")) for w, x in zip(weights, inputs)]
    return sum_values(products, start)


# ---- gradients that are graphs themselves (create_graph=True, autograd.grad)


def _backward_with_graph(root: Value, gradient: Operand) -> None:
    """``backward(create_graph=True)``: every gradient becomes a ``Value`` with a graph of its own."""
    order = topological_order(root)
    seed = gradient if isinstance(gradient, Value) else Value(_real(gradient, "backward(gradient=...)"))
    grads = _accumulate(order, seed, create_graph=True)
    for node in order:
        if node._parents:
            node.grad = grads.get(node, 0.0)
        elif node in grads:
            node.grad = node.grad + grads[node]


def _accumulate(order: list[Value], seed: Any, create_graph: bool) -> dict[Value, Any]:
    """Reverse accumulation into a dict {node: ∂root/∂node}, touching no ``.grad``.

    ``order`` is the topological order ending at the root. With ``create_graph`` the
    local derivatives are re-evaluated as ``Value``s from each op's rule (in limit
    arithmetic, as on floats), so every gradient is itself a differentiable graph.
    """
    grads: dict[Value, Any] = {order[-1]: seed}
    for node in reversed(order):
        g = grads.get(node)
        if g is None:
            continue
        parents = node._parents
        if not parents:
            continue
        local = _partials_as_values(node) if create_graph else node._local_grads
        if local is None:
            raise _no_rule(node, "grad()")
        for parent, d in zip(parents, local):
            if not (_contributes(g, d) if create_graph else g and d):  # a zero factor contributes nothing
                continue
            contribution = g * d
            before = grads.get(parent)
            grads[parent] = contribution if before is None else before + contribution
    return grads


def _contributes(g: Any, d: Any) -> bool:
    """Whether g · d flows: not when a factor is 0 and the other ±inf or nan (0 · ∞ = 0 here).

    On floats a zero factor never contributes. On Values a zero is kept unless the other
    factor is not finite: its graph still carries the higher derivatives."""
    gv, dv = _number(g), _number(d)
    if isinstance(g, Value) or isinstance(d, Value):
        return not ((gv == 0 and not math.isfinite(dv)) or (dv == 0 and not math.isfinite(gv)))
    return bool(gv and dv)


def _partials_as_values(node: Value) -> tuple[Any, ...]:
    """The node's local derivatives as graphs: its op's rule evaluated on its parents."""
    op = node._op
    if not isinstance(op, Op):
        raise _no_rule(node, "create_graph=True")
    with modes.limits():
        local = op.partials(*node._parents, node)
    if type(local) is not tuple or len(local) != len(node._parents):
        local = _checked_partials(op, local, len(node._parents))
    return local


def _no_rule(node: Value, where: str) -> RuntimeError:
    return RuntimeError(
        f"node {node!r} (op {node._op!r}) was built by hand and has no derivative rule to differentiate "
        f"again: backward() can use it, but {where} needs the operation declared with autograd.Op"
    )


# ---- copying and pickling (copy.copy, copy.deepcopy, pickle) live in autograd/_copying.py: not needed to
# read the engine, installed on Value here (before the accelerator, which copies Value's methods)

from . import _copying  # noqa: E402

_copying.install(Value)
_unpickle = _copying.unpickle  # pickles made by earlier versions name it here


# =========================================================================== the accelerator

if os.environ.get("STEPGRAD_PURE", "") not in ("", "0"):
    ACCELERATED = False
else:
    from . import _fast

    _fast.install(sys.modules[__name__])
    ACCELERATED = True
