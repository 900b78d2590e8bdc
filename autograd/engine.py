"""The engine: ``Value``, a scalar that remembers how it was computed, and reverse accumulation.

Every operation on ``Value``s computes a float and returns a new node holding its
parents, its op and the *local* partial derivatives of the result with respect to each
parent. Together these nodes are the adjoint graph. ``backward()`` walks it once in
reverse topological order and applies the chain rule at each node,

    parent.grad += node.grad * ∂node/∂parent,

which is reverse accumulation (backpropagation): the gradient of one output with
respect to every input for about the cost of one extra forward pass. See the
"Adjoint graph" and "Derivation" sections of the reference text on backpropagation
(Wikipedia, "Backpropagation") for the derivation this implements.

One op, one rule: each ``Op`` below states its forward function and its local partial
derivatives in one place. The partials are written with arithmetic and this module's
functions (``exp``, ``sin``, ...), so the same rule evaluates on floats (ordinary
``backward``) and on ``Value``s (``create_graph=True``, for higher derivatives).
Derived ops are composed from primitives: ``a - b`` is ``a + (-b)``, ``a / b`` is
``a * b**-1``.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Callable, Sequence
from typing import Any, Union

from .graph import topological_order

Number = Union[int, float]
Operand = Union["Value", int, float]


# --------------------------------------------------------------------------- no_grad

_local_state = threading.local()
_no_grad_threads = 0  # how many threads are inside a no_grad block right now (a fast test)
_no_grad_lock = threading.Lock()


def is_grad_enabled() -> bool:
    """True unless the calling thread is inside a ``no_grad()`` block."""
    return not (_no_grad_threads and getattr(_local_state, "depth", 0))


class no_grad:
    """Context manager (and decorator): values computed inside record no parents.

    >>> with no_grad():
    ...     y = Value(2.0) * 3      # y is a leaf: nothing to backpropagate through

    The switch is per thread: other threads keep recording their graphs.
    """

    def __enter__(self) -> "no_grad":
        global _no_grad_threads
        depth = getattr(_local_state, "depth", 0)
        _local_state.depth = depth + 1
        if depth == 0:
            with _no_grad_lock:
                _no_grad_threads += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _no_grad_threads
        _local_state.depth -= 1
        if _local_state.depth == 0:
            with _no_grad_lock:
                _no_grad_threads -= 1

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return fn(*args, **kwargs)

        wrapped.__name__ = getattr(fn, "__name__", "wrapped")
        wrapped.__doc__ = getattr(fn, "__doc__", None)
        return wrapped


# --------------------------------------------------------------------------- Value


def _real(x: Any, where: str) -> float:
    """``x`` as a float, or a TypeError naming ``where`` and the type of ``x``."""
    if isinstance(x, numbers.Real) and not isinstance(x, Value):
        return float(x)
    shown = repr(x)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    raise TypeError(f"{where} needs a real number or a Value, got {type(x).__name__} {shown}")


class Value:
    """A scalar in a computation graph: ``data`` (a float), ``grad`` (∂root/∂self after backward).

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> c = a * b + b**2        # c = ab + b²
    >>> c.backward()            # ∂c/∂a = b = -3, ∂c/∂b = a + 2b = -4
    >>> a.grad, b.grad
    (-3.0, -4.0)

    The constructor also accepts micrograd's ``Value(data, _children, _op)``.
    """

    # A node keeps its parents and their local derivatives in slots, not tuples: one
    # parent in _a (∂/∂_a in _la, _b is None), two in _a and _b (∂ in _la, _lb), three or
    # more as tuples in _a and _la with _b set to _MANY. A leaf has _a = None. No tuple per
    # node means less memory and fewer objects for Python's allocator and garbage collector;
    # the properties _parents and _local give the tuples back for everything that reads them.
    # The class defines no __getattr__: with one, CPython 3.11 cannot specialize attribute
    # reads, and every node.data, node.grad, node._a in the hot loops takes the slow
    # generic path (over a quarter of a training step's instructions, measured with
    # callgrind). Slots that most nodes never set (_label, _closure) are read through
    # the properties label and _backward instead.
    __slots__ = ("data", "grad", "_label", "_op", "_a", "_b", "_la", "_lb", "_closure")
    __array_ufunc__ = None  # numpy scalars and arrays defer to Value's reflected operators

    def __init__(self, data: Number, _children: Sequence["Value"] | str = (), _op: str = "", label: str = ""):
        if isinstance(_children, str):  # Value(2.0, "a"): a label given positionally
            _children, label = (), _children
        self.data = data if type(data) is float else _real(data, "Value()")
        self.grad: Any = 0.0
        self._label = label
        self._op: str = _op
        children = tuple(_children)
        if children:  # built by hand, micrograd style: no local derivatives, its maker assigns _backward
            self._a: Any = children
            self._b: Any = _MANY
            self._la: Any = None
        else:
            self._a = None
            self._b = None

    # ---- micrograd compatibility and conveniences

    @property
    def label(self) -> str:
        """A name for drawings and the stepper ('' unless given: nodes made by operations have none)."""
        try:
            return self._label
        except AttributeError:
            return ""

    @label.setter
    def label(self, label: str) -> None:
        self._label = label

    @property
    def _parents(self) -> tuple["Value", ...]:
        """The parents in operand order (a * a has (a, a))."""
        a = self._a
        if a is None:
            return ()
        b = self._b
        if b is None:
            return (a,)
        return a if b is _MANY else (a, b)

    @property
    def _local(self) -> tuple[Any, ...] | None:
        """∂self/∂parent per parent; None for a node built by hand without a rule."""
        a = self._a
        if a is None:
            return ()
        b = self._b
        if b is None:
            return (self._la,)
        return self._la if b is _MANY else (self._la, self._lb)

    @property
    def _prev(self) -> set["Value"]:
        """The parents as a set (micrograd's name)."""
        return set(self._parents)

    @property
    def parents(self) -> tuple["Value", ...]:
        """The nodes this value was computed from, in operand order."""
        return self._parents

    @property
    def op(self) -> str:
        """The symbol of the operation that produced this value ('' for a leaf)."""
        return self._op

    @property
    def local_grads(self) -> tuple[Any, ...]:
        """∂self/∂parent for each parent, evaluated at the forward values."""
        local = self._local
        return local if local is not None else ()

    def __repr__(self) -> str:
        extra = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data}, grad={self.grad}{extra})"

    # Order compares the data, so max(values) and sorted(values) work. Equality stays
    # identity, as in micrograd: Values are graph nodes and live in sets and dicts.
    def __lt__(self, other: Operand) -> bool:
        return self.data < _data(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= _data(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > _data(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _data(other)

    __hash__ = object.__hash__

    # ---- primitives (rules are in the Op table below)

    def __add__(self, other: Operand) -> "Value":
        """self + other; ∂/∂self = 1, ∂/∂other = 1 (the rule ADD below, inlined: this is the hot path)."""
        if type(other) is not Value:
            other = _lift(other, "+")
        out = _new(Value)
        out.data = self.data + other.data
        out.grad = 0.0
        if _no_grad_threads and getattr(_local_state, "depth", 0):
            out._a = out._b = None
            out._op = ""
        else:
            out._a = self
            out._b = other
            out._op = ADD
            out._la = out._lb = 1.0
        return out

    def __mul__(self, other: Operand) -> "Value":
        """self · other; ∂/∂self = other, ∂/∂other = self (the rule MUL below, inlined: this is the hot path)."""
        if type(other) is not Value:
            other = _lift(other, "*")
        a = self.data
        b = other.data
        out = _new(Value)
        out.data = a * b
        out.grad = 0.0
        if _no_grad_threads and getattr(_local_state, "depth", 0):
            out._a = out._b = None
            out._op = ""
        else:
            out._a = self
            out._b = other
            out._op = MUL
            out._la = b
            out._lb = a
        return out

    def __pow__(self, other: Operand) -> "Value":
        """self ** other; a number exponent k gives ∂/∂self = k·self^(k-1); a Value exponent is differentiated too."""
        if isinstance(other, Value):
            return POW(self, other)
        if type(other) is not int and type(other) is not float:
            _real(other, "**")
        return _power(other)(self)

    def __rpow__(self, other: Operand) -> "Value":
        """other ** self, e.g. 2 ** x."""
        return POW(_lift(other, "**"), self)

    def exp(self) -> "Value":
        """e^x; ∂/∂x = e^x."""
        return EXP(self)

    def log(self) -> "Value":
        """ln x for x > 0; ∂/∂x = 1/x."""
        return LOG(self)

    def sqrt(self) -> "Value":
        """√x for x ≥ 0; ∂/∂x = 1/(2√x)."""
        return SQRT(self)

    def tanh(self) -> "Value":
        """tanh x; ∂/∂x = 1 - tanh²x."""
        return TANH(self)

    def sigmoid(self) -> "Value":
        """σ(x) = 1/(1 + e^-x); ∂/∂x = σ(x)(1 - σ(x))."""
        return SIGMOID(self)

    def relu(self) -> "Value":
        """max(0, x); ∂/∂x = 1 for x > 0, else 0 (0 at the kink, as in micrograd and PyTorch)."""
        x = self.data  # the rule RELU below, inlined: every hidden neuron of an MLP calls it
        out = _new(Value)
        out.data = 0.0 if x < 0 else x
        out.grad = 0.0
        if _no_grad_threads and getattr(_local_state, "depth", 0):
            out._a = out._b = None
            out._op = ""
        else:
            out._a = self
            out._b = None
            out._op = RELU
            out._la = 1.0 if x > 0 else 0.0
        return out

    def leaky_relu(self, alpha: float = 0.01) -> "Value":
        """x for x > 0, else αx; ∂/∂x = 1 or α."""
        return _leaky_relu(alpha)(self)

    def softplus(self) -> "Value":
        """ln(1 + e^x); ∂/∂x = σ(x)."""
        return SOFTPLUS(self)

    def sin(self) -> "Value":
        """sin x; ∂/∂x = cos x."""
        return SIN(self)

    def cos(self) -> "Value":
        """cos x; ∂/∂x = -sin x."""
        return COS(self)

    def __abs__(self) -> "Value":
        """|x|; ∂/∂x = sign x (0 at 0)."""
        return ABS(self)

    # ---- composed from the primitives

    def __neg__(self) -> "Value":  # -self
        return self * -1

    def __radd__(self, other: Operand) -> "Value":  # other + self
        return self + other

    def __sub__(self, other: Operand) -> "Value":  # self - other = self + (-other)
        return self + (-_operand(other, "-"))

    def __rsub__(self, other: Operand) -> "Value":  # other - self = other + (-self)
        return _operand(other, "-") + (-self)

    def __rmul__(self, other: Operand) -> "Value":  # other * self
        return self * other

    def __truediv__(self, other: Operand) -> "Value":  # self / other = self * other**-1
        other = _operand(other, "/")
        if _data(other) == 0:
            raise ZeroDivisionError(f"division by zero: {self.data} / {_data(other)}")
        return self * other**-1

    def __rtruediv__(self, other: Operand) -> "Value":  # other / self = other * self**-1
        other = _operand(other, "/")
        if self.data == 0:
            raise ZeroDivisionError(f"division by zero: {_data(other)} / {self.data}")
        return other * self**-1

    # ---- reverse accumulation

    def backward(self, gradient: Operand = 1.0, create_graph: bool = False) -> None:
        """Fill ``.grad`` of every node upstream with ∂self/∂node (times ``gradient``).

        Leaves (inputs, parameters) accumulate across calls, as in PyTorch: call
        ``zero_grad()`` between steps. Intermediate nodes are recomputed by every call.
        With ``create_graph=True`` the gradients are ``Value``s with graphs of their own,
        so they can be differentiated again (``x.grad.backward()``).
        """
        if create_graph:
            order = topological_order(self)
            seed = gradient if isinstance(gradient, Value) else Value(_real(gradient, "backward(gradient=...)"))
            grads = _accumulate(order, seed, create_graph=True)
            for node in order:
                if node._parents:
                    node.grad = grads.get(node, 0.0)
                elif node in grads:
                    node.grad = node.grad + grads[node]
            return
        if type(gradient) is not float:
            gradient = _data(gradient, "backward(gradient=...)")
        if self._a is None:  # a leaf: nothing upstream, its gradient accumulates
            self.grad += gradient
            return
        order = _interior_order_zeroing_grads(self)  # topological_order(self, leaves=False), grads set to 0
        self.grad += gradient
        # parent.grad += node.grad · ∂node/∂parent, from the output back to the inputs
        # (for + the local derivatives are 1.0, and g·1.0 == g exactly).
        many = _MANY
        for node in reversed(order):
            g = node.grad
            b = node._b
            if b is None:  # one parent
                node._a.grad += g * node._la
            elif b is not many:  # two parents
                node._a.grad += g * node._la
                b.grad += g * node._lb
            elif node._la is None:  # built by hand, micrograd style: its own closure
                node._backward()
            else:  # three or more
                for parent, d in zip(node._a, node._la):
                    parent.grad += g * d

    @property
    def _backward(self) -> Callable[[], None]:
        """Push this node's gradient to its parents: parent.grad += self.grad · ∂self/∂parent.

        micrograd's name. Code written for micrograd may assign its own closure
        (``out._backward = _backward``) to a node it built with ``Value(data, children, op)``;
        ``backward()`` then calls that closure for the node.
        """
        try:
            return self._closure
        except AttributeError:  # no closure assigned: the node's own rule
            return self._push

    @_backward.setter
    def _backward(self, closure: Callable[[], None]) -> None:
        if not callable(closure):
            raise TypeError(f"_backward must be callable, got {type(closure).__name__}")
        self._closure = closure

    def _push(self) -> None:
        if self._local is None:
            raise RuntimeError(
                f"node {self!r} (op {self._op!r}) was built with Value(data, children, op) and has no "
                "derivative rule: assign it a _backward closure (micrograd style), or declare the "
                "operation with autograd.Op"
            )
        g = self.grad
        for parent, d in zip(self._parents, self._local):
            parent.grad += g * d


def sum_values(values: Sequence[Operand], start: Operand = 0.0) -> Value:
    """start + v₀ + v₁ + … as one n-ary ``+`` node; ∂/∂vᵢ = 1 for every term.

    The sum is accumulated left to right, so ``.data`` is what Python's
    ``sum(values, start)`` gives, but the graph has one node instead of a chain of
    len(values) binary ``+`` nodes. A ``start`` of 0 adds no term.
    """
    terms = [v if type(v) is Value else _lift(v, "sum_values") for v in values]
    if type(start) is Value or _real(start, "sum_values(start=...)") != 0:
        terms.insert(0, _lift(start, "sum_values(start=...)"))
    return _sum_node(terms)


def dot(weights: Sequence[Operand], inputs: Sequence[Operand], start: Operand = 0.0) -> Value:
    """start + w₀·x₀ + w₁·x₁ + … (a neuron's pre-activation Σ wᵢxᵢ + b).

    One ``*`` node per product and one n-ary ``+`` node for the sum (``sum_values``):
    the same floats as ``sum((w * x for w, x in zip(weights, inputs)), start)``, and
    the same gradients, from a graph about half the size of that chain of binary ``+``.
    """
    if len(weights) != len(inputs):
        raise ValueError(f"dot: {len(weights)} weights but {len(inputs)} inputs")
    terms = []
    if type(start) is Value or _real(start, "dot(start=...)") != 0:
        terms.append(_lift(start, "dot(start=...)"))
    append = terms.append
    recording = not (_no_grad_threads and getattr(_local_state, "depth", 0))
    new = _new
    for w, x in zip(weights, inputs):
        if type(w) is not Value:
            w = _lift(w, "*")
        if type(x) is not Value:
            x = _lift(x, "*")
        a = w.data
        b = x.data
        product = new(Value)  # w · x: the rule MUL, inlined
        product.data = a * b
        product.grad = 0.0
        if recording:
            product._a = w
            product._b = x
            product._op = MUL
            product._la = b
            product._lb = a
        else:
            product._a = product._b = None
            product._op = ""
        append(product)
    return _sum_node(terms)


_ones: dict[int, tuple[float, ...]] = {}


def _sum_node(terms: list[Value]) -> Value:
    """The n-ary + node: Σ terms, added left to right (the rule SUM, inlined)."""
    total = _left_sum([term.data for term in terms])
    n = len(terms)
    if n == 0:
        return _lift(total, "sum_values")
    local = _ones.get(n)
    if local is None:
        local = _ones.setdefault(n, (1.0,) * n)
    return _node(total, tuple(terms), SUM, local)


def _data(x: Operand, where: str = "comparison") -> float:
    """The float inside ``x`` (a Value or a number)."""
    if isinstance(x, Value):
        return x.data
    return _real(x, where)


def _operand(x: Any, where: str) -> Any:
    """``x`` checked as an operand of ``where``: a Value as it is, a number as a float (no node yet)."""
    if isinstance(x, Value):
        return x
    return x if type(x) is float else _real(x, where)


def _lift(x: Any, where: str) -> Value:
    """``x`` as a Value: a Value (or subclass) as it is, a number as a new leaf (micrograd's ``Value(other)``)."""
    if isinstance(x, Value):
        return x
    if type(x) is not float:
        x = _real(x, where)
    leaf = _new(Value)
    leaf.data = x
    leaf.grad = 0.0
    leaf._a = leaf._b = None
    leaf._op = ""
    return leaf


_new = object.__new__


def _node(data: float, parents: tuple[Value, ...], op: str, local: tuple[Any, ...]) -> Value:
    """A new node of the adjoint graph (a leaf instead, inside ``no_grad``); ``local[i]`` = ∂node/∂parents[i]."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._op = op
    n = len(parents)
    if n == 0 or (_no_grad_threads and getattr(_local_state, "depth", 0)):
        out._a = out._b = None
        out._op = ""
    elif n == 1:
        out._a = parents[0]
        out._b = None
        out._la = local[0]
    elif n == 2:
        out._a, out._b = parents
        out._la, out._lb = local
    else:
        out._a = parents
        out._b = _MANY
        out._la = local
    return out


class _Many:
    """The marker in ``_b`` of a node with three or more parents (or built by hand)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "_MANY"


_MANY = _Many()


def _interior_order_zeroing_grads(root: Value) -> list[Value]:
    """``topological_order(root, leaves=False)``, setting each listed node's ``grad`` to 0.

    This is backward's walk: the walk of ``graph.topological_order`` step for step, so
    the same order, but it keeps its "entered" marks in the nodes instead of in a set.
    A node is marked by setting its gradient to a float 0.0 made for this call alone,
    so marking a node is also the reset backward needs, and a million-node graph needs
    no million-entry set. Leaves are never touched. ``root`` must have parents.
    """
    mark = float("0")  # a new float object: no node can hold it from an earlier call
    many = _MANY
    order: list[Value] = []
    append = order.append
    stack: list[Any] = [root]
    push = stack.append
    pop = stack.pop
    while True:  # not `while stack`, for CPython's sake: see graph.topological_order
        try:
            node = pop()
        except IndexError:
            return order
        if node is None:
            append(pop())
        elif node.grad is not mark:
            node.grad = mark
            push(node)
            push(None)
            a = node._a
            b = node._b
            if b is many:
                for parent in a:
                    if parent._a is not None and parent.grad is not mark:
                        push(parent)
            else:
                if a._a is not None and a.grad is not mark:
                    push(a)
                if b is not None and b._a is not None and b.grad is not mark:
                    push(b)


def _accumulate(order: list[Value], seed: Any, create_graph: bool) -> dict[Value, Any]:
    """Reverse accumulation into a dict {node: ∂root/∂node}, touching no ``.grad``.

    ``order`` is the topological order ending at the root. With ``create_graph`` the
    local derivatives are re-evaluated as ``Value``s from each op's rule, so every
    gradient is itself a differentiable graph.
    """
    grads: dict[Value, Any] = {order[-1]: seed}
    for node in reversed(order):
        parents = node._parents
        g = grads.get(node)
        if g is None or not parents:
            continue
        if node._local is None:
            raise RuntimeError(
                f"node {node!r} (op {node._op!r}) has no derivative rule, only a micrograd-style "
                "_backward closure: backward() can run it, but grad() and create_graph=True need the "
                "operation declared with autograd.Op"
            )
        if create_graph:
            local = node._op.partials(*parents, node)
            if type(local) is not tuple or len(local) != len(parents):
                local = node._op._checked(local, len(parents))
        else:
            local = node._local
        for parent, d in zip(parents, local):
            contribution = g * d
            grads[parent] = grads[parent] + contribution if parent in grads else contribution
    return grads


# --------------------------------------------------------------------------- ops


class Op(str):
    """A scalar primitive: its symbol (the string itself), forward function and local partials.

    ``forward(*xs) -> float`` computes the result from the inputs' floats.
    ``partials(*xs, out) -> tuple`` gives ∂out/∂xᵢ for each input. Write it with
    arithmetic and ``autograd``'s functions (``exp``, ``log``, ``sin``, ...): it is
    called with floats for ``backward()`` and with ``Value``s for ``create_graph=True``,
    so a user-defined op differentiates twice, draws and steps like a built-in one.

    >>> softsign = Op("softsign", lambda x: x / (1 + abs(x)),
    ...               lambda x, out: (1 / (1 + abs(x)) ** 2,))
    >>> y = softsign(Value(1.0)); y.backward()      # y = 0.5, dy/dx = 1/4
    """

    forward: Callable[..., float]
    partials: Callable[..., Sequence[Any]]

    def __new__(cls, symbol: str, forward: Callable[..., float], partials: Callable[..., Sequence[Any]]) -> "Op":
        if not isinstance(symbol, str) or not symbol:
            raise TypeError(f"Op needs a non-empty symbol string, got {symbol!r}")
        if not callable(forward) or not callable(partials):
            raise TypeError(f"Op {symbol!r}: forward and partials must be callables")
        self = super().__new__(cls, symbol)
        self.forward = forward
        self.partials = partials
        return self

    def __call__(self, *args: Operand) -> Value:
        """Apply the op: a new node with its forward value and local derivatives."""
        if len(args) == 1:  # the common case, kept cheap
            x = args[0]
            if type(x) is not Value:
                x = _lift(x, self)
            inputs: tuple[Value, ...] = (x,)
            xs: tuple[float, ...] = (x.data,)
        else:
            inputs = tuple([a if type(a) is Value else _lift(a, self) for a in args])
            xs = tuple([v.data for v in inputs])
        out = self.forward(*xs)
        if type(out) is not float:
            out = _real(out, f"op {str(self)!r}: forward")
        local = self.partials(*xs, out)
        if type(local) is not tuple or len(local) != len(inputs):
            local = self._checked(local, len(inputs))
        return _node(out, inputs, self, local)

    def _checked(self, local: Any, n: int) -> tuple[Any, ...]:
        """A user's partials as a tuple of n derivatives, or an error naming the op."""
        if not isinstance(local, (tuple, list)):
            local = (local,)
        if len(local) != n:
            raise ValueError(f"op {str(self)!r}: partials gave {len(local)} derivatives for {n} inputs")
        return tuple(local)

    def __reduce__(self) -> Any:  # pragma: no cover - Ops are module constants, never pickled
        raise TypeError("Op objects are not picklable")


def _left_sum(xs: Sequence[float]) -> float:
    total = 0.0
    for x in xs:
        total = total + x
    return total


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        raise OverflowError(f"exp() of {x} overflows: the result is larger than the largest float") from None


def _log(x: float) -> float:
    if not x > 0:
        raise ValueError(f"log() of {x} is undefined: log needs a positive input")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0:
        raise ValueError(f"sqrt() of {x} is undefined: sqrt needs a non-negative input")
    return math.sqrt(x)


def _sigmoid(x: float) -> float:
    if x >= 0:  # stable on both sides: never exponentiates a large positive number
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))  # ln(1 + e^x) without overflow


def _pow(x: float, k: float) -> float:
    if x == 0 and k < 0:
        raise ZeroDivisionError(f"{x} ** {k} is undefined: zero to a negative power divides by zero")
    if x < 0 and k != int(k):
        raise ValueError(f"({x}) ** {k} is undefined: a negative base needs an integer exponent")
    try:
        return float(x**k)
    except OverflowError:
        raise OverflowError(f"({x}) ** {k} overflows: the result is larger than the largest float") from None


def _d_pow_base(x: Any, k: Any) -> Any:
    """∂(x^k)/∂x = k·x^(k-1), with its limits at x = 0 (where x^(k-1) alone may divide by zero)."""
    xv, kv = _data(x), _data(k)
    if xv == 0 and kv < 1:
        return 0.0 if kv == 0 else math.inf
    return k * x ** (k - 1)


def _d_pow_exponent(x: Any, out: Any) -> Any:
    """∂(x^y)/∂y = x^y · ln x; 0 at x = 0, undefined (nan) for x < 0."""
    xv = _data(x)
    if xv > 0:
        return out * log(x)
    return 0.0 if xv == 0 else math.nan


def _sign(x: Any) -> float:
    xv = _data(x)
    return 1.0 if xv > 0 else (-1.0 if xv < 0 else 0.0)


def _unary_function(op: Op, name: str) -> Callable[[Any], Any]:
    """The op as a function of a number (a float back) or of a Value (a node back)."""

    def function(x: Any) -> Any:
        if isinstance(x, Value):
            return op(x)
        return op.forward(_real(x, f"{name}()"))

    function.__name__ = name
    function.__doc__ = f"{name}(x) for a number x (a float) or a Value x (a graph node)."
    return function


# The rule table: symbol, forward, local partial derivatives.
ADD = Op("+", lambda a, b: a + b, lambda a, b, out: (1.0, 1.0))
MUL = Op("*", lambda a, b: a * b, lambda a, b, out: (b, a))
SUM = Op("+", lambda *xs: _left_sum(xs), lambda *xs_out: (1.0,) * (len(xs_out) - 1))
POW = Op("**", _pow, lambda a, b, out: (_d_pow_base(a, b), _d_pow_exponent(a, out)))
EXP = Op("exp", _exp, lambda x, out: (out,))
LOG = Op("log", _log, lambda x, out: (1 / x,))
SQRT = Op("sqrt", _sqrt, lambda x, out: (0.5 / out if _data(out) != 0 else math.inf,))
TANH = Op("tanh", math.tanh, lambda x, out: (1 - out * out,))
SIGMOID = Op("sigmoid", _sigmoid, lambda x, out: (out * (1 - out),))
RELU = Op("ReLU", lambda x: 0.0 if x < 0 else x, lambda x, out: (1.0 if x > 0 else 0.0,))
SOFTPLUS = Op("softplus", _softplus, lambda x, out: (sigmoid(x),))
SIN = Op("sin", math.sin, lambda x, out: (cos(x),))
COS = Op("cos", math.cos, lambda x, out: (-sin(x),))
ABS = Op("abs", abs, lambda x, out: (_sign(x),))

exp = _unary_function(EXP, "exp")
log = _unary_function(LOG, "log")
sqrt = _unary_function(SQRT, "sqrt")
tanh = _unary_function(TANH, "tanh")
sigmoid = _unary_function(SIGMOID, "sigmoid")
relu = _unary_function(RELU, "relu")
softplus = _unary_function(SOFTPLUS, "softplus")
sin = _unary_function(SIN, "sin")
cos = _unary_function(COS, "cos")

_powers: dict[tuple[type, float], Op] = {}


def _power(k: Number) -> Op:
    """The op x ↦ x**k for a constant k (micrograd's symbol '**k'), one per exponent."""
    key = (type(k), k)
    op = _powers.get(key)
    if op is None:
        kf = float(k)
        op = Op(f"**{k}", lambda x: _pow(x, kf), lambda x, out: (_d_pow_base(x, kf),))
        if len(_powers) < 4096:
            _powers[key] = op
    return op


_leaky: dict[float, Op] = {}


def _leaky_relu(alpha: float) -> Op:
    """The op leaky_relu with slope ``alpha`` below zero."""
    alpha = _real(alpha, "leaky_relu(alpha=...)")
    op = _leaky.get(alpha)
    if op is None:
        op = Op(
            "leaky_relu" if alpha == 0.01 else f"leaky_relu({alpha})",
            lambda x: x if x > 0 else alpha * x,
            lambda x, out: (1.0 if x > 0 else alpha,),
        )
        if len(_leaky) < 256:
            _leaky[alpha] = op
    return op
