"""The engine: ``Value``, a scalar that remembers how it was computed, and reverse accumulation.

Every operation on ``Value``s returns a new node holding its parents, its op and the local partials
∂node/∂parent: together, the adjoint graph. ``backward()`` walks it once in reverse topological order,
applying the chain rule ``parent.grad += node.grad · ∂node/∂parent`` (reverse accumulation: ∂root/∂x
for every input x at about the cost of one more forward pass).

Read in order: 1. the rule table, and the public functions made from it; 2. ``Value``; 3. ``backward``,
the one chain-rule step, and ``create_graph`` beside it. The modules imported below hold the rest: the
limit policy (IEEE 754, named errors, derivatives never raise), the case splits the partials are written
with, what a node shows, sums, micrograd/microgpt compatibility. ``_fast.py`` installs speed-tuned copies
at import and steps aside for any definition that was edited; ``STEPGRAD_PURE=1`` runs the reference alone.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Union

from . import arrays, modes
from . import op as _op
from .graph import topological_order
from .op import Op as Op  # the class of the rules below: symbol, forward, partials; name, array, total

# isort: off
from .modes import auto_scope as auto_scope, is_grad_enabled as is_grad_enabled, no_grad as no_grad, scope as scope

# limits.py: the forward functions that need care with floats, the checks of numbers, derivatives at a limit
from .limits import _cos, _divide, _exp, _log, _pow, _sigmoid, _sin, _softplus, _sqrt, _number_of  # noqa: F401
from .limits import _checked as _checked, _checked_partials as _checked_partials, _partials_at as _partials_at
from .limits import _real as _real

# cases.py: what the partials are written with, on floats, Values and arrays: case splits, max, sums
from .cases import _function, _is_zero, _left_sum, _max, _max_partials, _number  # noqa: F401
from .cases import _ARRAY_FUNCTIONS as _ARRAY_FUNCTIONS, sign as sign, step as step, where as where

# node.py: what a node shows (data, label, parents, op, local_grads, scope, is_constant, repr)
from .node import CONSTANT as CONSTANT, Node

# compat.py: micrograd's and microgpt's ways
from .compat import _attributes as _attributes, _own_backward as _own_backward
from .compat import _no_rule, hand_built, no_backward_rule
# isort: on

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


# The public functions, one per named op of the table, by name (cases._function makes them). autograd exports
# them; the command line calls them. The names below are for type checkers.
FUNCTIONS: dict[str, Callable[..., Any]] = {name: _function(op, name) for name, op in PRIMITIVES.items()}
exp: Callable[[Any], Any] = FUNCTIONS["exp"]
log: Callable[[Any], Any] = FUNCTIONS["log"]
sqrt: Callable[[Any], Any] = FUNCTIONS["sqrt"]
tanh: Callable[[Any], Any] = FUNCTIONS["tanh"]
sigmoid: Callable[[Any], Any] = FUNCTIONS["sigmoid"]
relu: Callable[[Any], Any] = FUNCTIONS["relu"]
softplus: Callable[[Any], Any] = FUNCTIONS["softplus"]
sin: Callable[[Any], Any] = FUNCTIONS["sin"]
cos: Callable[[Any], Any] = FUNCTIONS["cos"]
maximum: Callable[..., Any] = FUNCTIONS["maximum"]
maximum.__doc__ = """max(x₀, x₁, …): one node if any xᵢ is a Value (∂/∂xᵢ = 1 for the largest, 1/k each for k tied),
    a float for numbers, element by element for numpy arrays: ``maximum(Value(2.0), 5.0).data`` is 5.0."""


# =========================================================================== 2. Value


class Value(Node):
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
        if data is self:  # Value(v) of a Value: Compat.__new__ returned v itself, already made
            return
        self._data = data if type(data) is float else _real(data, "Value()")
        self.grad = 0.0
        # a leaf, or a node built by hand (micrograd's and microgpt's forms: compat.hand_built)
        self._op, self._parents, self._local_grads, label = hand_built(_children, _op, label, children, local_grads)
        if label != "":
            self.label = label  # checked: a label is a string
        if modes.active:
            modes.record(self)

    # ---- what a node is: data, label, parents, op, local_grads, scope, is_constant (node.py), and

    def _make_leaf(self) -> None:
        """Forget how this node was made (``no_grad``): no parents, no op (a constant stays marked)."""
        self._parents = ()
        self._local_grads = ()
        if self._op is not CONSTANT:
            self._op = ""

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
            raise no_backward_rule(self)
        for parent, flow in zip(self._parents, chain_rule(self.grad, self._local_grads)):
            if flow is not None:
                parent.grad += flow


# ---- the chain rule at one node: the step backward(), grad(), create_graph and the stepper share


def chain_rule(g: Any, local: Sequence[Any], create_graph: bool = False) -> list[Any]:
    """What a node with gradient g = ∂root/∂node sends each parent: g · ∂node/∂parent, in the parents' order.

    None where nothing flows: a zero factor contributes nothing (0 · ∞ is 0 here, never nan). With
    ``create_graph`` (factors that are Values) a zero still flows, its graph carrying the higher
    derivatives, unless the other factor is ±inf or nan. (``_fast``'s loops are labelled copies.)
    """
    if not create_graph:
        return [g * d if g and d else None for d in local]
    flows = []
    for d in local:
        if isinstance(g, Value) or isinstance(d, Value):
            gv, dv = _number(g), _number(d)
            flows.append(None if (gv == 0 and not math.isfinite(dv)) or (dv == 0 and not math.isfinite(gv)) else g * d)
        else:
            flows.append(g * d if g and d else None)
    return flows


# ---- gradients that are graphs themselves (create_graph=True, autograd.grad): the same loop, into a dict


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
        if g is None or not node._parents:
            continue
        local = _partials_as_values(node) if create_graph else node._local_grads
        if local is None:
            raise _no_rule(node, "grad()")
        for parent, flow in zip(node._parents, chain_rule(g, local, create_graph)):
            if flow is not None:
                before = grads.get(parent)
                grads[parent] = flow if before is None else before + flow
    return grads


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


def _constant(x: Any, where: str) -> Value:
    """A number as a leaf node marked constant (micrograd's ``Value(other)``)."""
    return _node(x if type(x) is float else _real(x, where), (), CONSTANT, ())


# ---- sums and dot products as one n-ary node (sums.py: built from SUM and MUL); copying and pickling
# (copy.copy, copy.deepcopy, pickle: _copying.py), installed on Value here, before the accelerator

from . import _copying  # noqa: E402
from .sums import dot as dot  # noqa: E402
from .sums import sum_values as sum_values  # noqa: E402

_copying.install(Value)
_unpickle = _copying.unpickle  # pickles made by earlier versions name it here


# =========================================================================== the accelerator

if os.environ.get("STEPGRAD_PURE", "") not in ("", "0"):
    ACCELERATED = False
else:
    from . import _fast

    _fast.install(sys.modules[__name__])
    ACCELERATED = True
