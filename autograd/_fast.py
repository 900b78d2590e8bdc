"""The accelerator: speed-tuned copies of ``engine.py``'s hot paths, installed over the reference.

``engine.py`` is written to be read; this module is written to be fast, and changes nothing
a program can observe except time and memory (the CPython standard-library pattern:
``heapq`` and ``_heapq``, ``decimal`` and ``_pydecimal``). ``engine.py`` calls ``install()``
at the end of its import unless ``STEPGRAD_PURE=1``; one test suite runs against both, and
``tests/test_fast.py`` checks every copy here against the rule it copies (``COPIES``).

What makes it fast, measured on micrograd's demo step (``tests/benchmarks/bench_engine.py``):

- **Packed layout.** A node keeps up to two parents and their local derivatives in four
  slots (``_a``, ``_b``, ``_la``, ``_lb``) instead of two tuples: a leaf has ``_a = None``;
  one parent: ``_a``, ``_la`` and ``_b = None``; two: ``_a``, ``_b``, ``_la``, ``_lb``; three
  or more, or a node with its own ``_backward`` closure: tuples in ``_a`` and ``_la`` and
  ``_b = _MANY`` (``_la = None`` for a closure). Fewer objects per node: less memory and less
  work for the allocator and the cyclic garbage collector. ``_parents`` and ``_local_grads``
  become properties that unpack it. The class is rebuilt with this layout at install
  (slots are fixed when a class is created), with every method of the reference.
- **Inlined rules.** ``+``, ``*``, ``relu``, ``dot`` and the n-ary sum build their node in
  place, with no ``Op`` call, tuple or lookup of the rule.
- **Marking walk.** ``backward`` finds its order with marks kept in the nodes (a float made
  for the call, stored in ``.grad``, which is also the reset it needs), not a set.
- **Backward loop.** One loop with a branch per layout, no method call per node, and + nodes
  passing their gradient on as it is (fewer floats made).

**Run what you read.** A learner edits ``engine.py``; the edit must run. ``FINGERPRINTS`` holds a
fingerprint of every reference definition a copy here stands in for (``STANDS_IN_FOR``), taken
from its syntax tree: comments, blank lines, layout and docstrings do not count, any code edit
does. At install a copy whose definitions' fingerprints no longer match stays out — the edited
reference runs instead — and one line on stderr says so. The table is regenerated with
``python -m autograd._fingerprints --write``; ``tests/test_fast.py`` fails (and prints the
new table) when ``engine.py`` changed without it.
"""

from __future__ import annotations

import hashlib
import math
import sys
from types import ModuleType
from typing import Any

from . import modes
from ._watch import OTHER_FILES as OTHER_FILES
from ._watch import fingerprints as fingerprints
from ._watch import notice, with_other_files

engine: Any = None  # the engine module, set by install()
Value: Any = None  # the installed (packed) Value class
ADD = MUL = RELU = SUM = CONSTANT = None  # the engine's rules, set by install()
_real: Any = None
_new = object.__new__
_INF = math.inf
_active = 0  # modes.active, kept here by modes.listeners so each operation tests one global


def _set_active(count: int) -> None:
    global _active
    _active = count


class _Many:
    """The marker in ``_b`` of a node whose parents are a tuple in ``_a``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "_MANY"


_MANY = _Many()
SLOTS = ("_data", "grad", "_op", "_a", "_b", "_la", "_lb", "__dict__")


# --------------------------------------------------------------------------- the packed layout


def _get_parents(self: Any) -> tuple[Any, ...]:
    a = self._a
    if a is None:
        return ()
    b = self._b
    if b is None:
        return (a,)
    return a if b is _MANY else (a, b)


def _get_local_grads(self: Any) -> tuple[Any, ...] | None:
    a = self._a
    if a is None:
        return ()
    b = self._b
    if b is None:
        return (self._la,)
    if b is not _MANY:
        return (self._la, self._lb)
    local = self._la
    return self._kept_local_grads if local is None else local  # type: ignore[no-any-return]


def _pack(node: Any, parents: tuple[Any, ...], local: tuple[Any, ...] | None) -> None:
    n = len(parents)
    if n == 0:
        node._a = node._b = None
    elif local is not None and n == 1:
        node._a = parents[0]
        node._b = None
        node._la = local[0]
    elif local is not None and n == 2:
        node._a, node._b = parents
        node._la, node._lb = local
    else:
        node._a = parents
        node._b = _MANY
        node._la = local


def _set_parents(self: Any, parents: tuple[Any, ...]) -> None:
    # the reference's __init__ sets _parents, then _local_grads: keep the parents until then
    _pack(self, tuple(parents), None)


def _set_local_grads(self: Any, local: tuple[Any, ...] | None) -> None:
    _pack(self, _get_parents(self), local)


def _get_backward(self: Any) -> Any:
    closure = engine._own_backward(self)  # in the node's __dict__, as in the reference (rare: closures, errors)
    return closure if closure is not None else self._push


def _set_backward(self: Any, closure: Any) -> None:
    if not callable(closure):
        raise TypeError(f"_backward must be callable, got {type(closure).__name__}")
    # A node with its own closure takes the tuple layout with _la = None, the branch of the
    # backward loop that calls node._backward(); its local derivatives are kept aside.
    local = _get_local_grads(self)
    parents = _get_parents(self)
    self.__dict__["_backward"] = closure  # where the reference keeps it (its _backward is a plain method)
    if not parents:  # a leaf stays a leaf: backward() pushes nothing from leaves, closure or not
        return
    self._kept_local_grads = local
    self._a = parents
    self._b = _MANY
    self._la = None


def _make_leaf(self: Any) -> None:
    self._a = self._b = None
    if self._op is not CONSTANT:
        self._op = ""


# --------------------------------------------------------------------------- the one node constructor


def _node(data: float, parents: tuple[Any, ...], op: Any, local: tuple[Any, ...] | None) -> Any:
    """engine._node for the packed layout."""
    out = _new(Value)
    out._data = data
    out.grad = 0.0
    out._op = op
    _pack(out, parents, local)
    if _active:
        modes.record(out)
    return out


def _lift(x: Any, where: str) -> Any:
    """engine._constant, for an operand that may already be a Value: a number becomes a constant leaf."""
    if isinstance(x, Value):
        return x
    leaf = _new(Value)
    leaf._data = x if type(x) is float else _real(x, where)
    leaf.grad = 0.0
    leaf._op = CONSTANT
    leaf._a = leaf._b = None
    if _active:
        modes.record(leaf)
    return leaf


def __init__(
    self: Any, data: Any, _children: Any = (), _op: Any = "", label: Any = "", *, children: Any = None,
    local_grads: Any = None,
) -> None:  # fmt: skip
    if type(data) is not float and data is self:  # Value(v) of a Value: v itself (the reference's __new__)
        return
    if _children or _op or label != "" or children is not None or local_grads is not None:
        # a hand-built node or a label: the reference's way
        _reference_init(self, data, _children, _op, label, children=children, local_grads=local_grads)
        return
    self._data = data if type(data) is float else _real(data, "Value()")  # a plain leaf: Value(2.0)
    self.grad = 0.0
    self._op = ""
    self._a = self._b = None
    if _active:
        modes.record(self)


_reference_init: Any = None


# --------------------------------------------------------------------------- inlined rules


def __add__(self: Any, other: Any) -> Any:
    """A copy of rule ADD: self + other; ∂/∂self = ∂/∂other = 1."""
    if type(other) is not Value:
        other = _lift(other, "+")
    out = _new(Value)
    out._data = self._data + other._data
    out.grad = 0.0
    out._op = ADD
    out._a = self
    out._b = other
    out._la = out._lb = 1.0
    if _active:
        modes.record(out)
    return out


def __radd__(self: Any, other: Any) -> Any:
    """other + self, built as self + other (micrograd's graph)."""
    return __add__(self, other)


def __mul__(self: Any, other: Any) -> Any:
    """A copy of rule MUL: self · other; ∂/∂self = other, ∂/∂other = self."""
    if type(other) is not Value:
        other = _lift(other, "*")
    a = self._data
    b = other._data
    out = _new(Value)
    out._data = a * b
    out.grad = 0.0
    out._op = MUL
    out._a = self
    out._b = other
    out._la = b
    out._lb = a
    if _active:
        modes.record(out)
    return out


def __rmul__(self: Any, other: Any) -> Any:
    """other · self, built as self · other (micrograd's graph)."""
    return __mul__(self, other)


def relu(self: Any) -> Any:
    """A copy of rule RELU: max(0, x); ∂/∂x = 1 for x > 0, else 0."""
    x = self._data
    out = _new(Value)
    out._data = 0.0 if x < 0 else x
    out.grad = 0.0
    out._op = RELU
    out._a = self
    out._b = None
    out._la = 1.0 if x > 0 else 0.0
    if _active:
        modes.record(out)
    return out


_ones: dict[int, tuple[float, ...]] = {}


def _sum_node(terms: list[Any]) -> Any:
    """A copy of rule SUM: t₀ + t₁ + …, added left to right; ∂/∂tᵢ = 1."""
    total = 0.0
    for term in terms:
        total = total + term._data
    n = len(terms)
    if n == 0:
        return _lift(total, "sum_values")
    local = _ones.get(n)
    if local is None:
        local = _ones.setdefault(n, (1.0,) * n)
    return _node(total, tuple(terms), SUM, local)


def sum_values(values: Any, start: Any = 0.0) -> Any:
    """engine.sum_values with the rule SUM inlined."""
    terms = [v if type(v) is Value else _lift(v, "sum_values") for v in values]
    if isinstance(start, Value) or _real(start, "sum_values(start=...)") != 0:
        terms.insert(0, _lift(start, "sum_values(start=...)"))
    return _sum_node(terms)


def dot(weights: Any, inputs: Any, start: Any = 0.0) -> Any:
    """engine.dot with the rules MUL (each product) and SUM inlined."""
    if len(weights) != len(inputs):
        raise ValueError(f"dot: {len(weights)} weights but {len(inputs)} inputs")
    terms = []
    if isinstance(start, Value) or _real(start, "dot(start=...)") != 0:
        terms.append(_lift(start, "dot(start=...)"))
    append = terms.append
    new = _new
    recording = _active
    for w, x in zip(weights, inputs):
        if type(w) is not Value:
            w = _lift(w, "*")
        if type(x) is not Value:
            x = _lift(x, "*")
        a = w._data
        b = x._data
        product = new(Value)  # w · x: the rule MUL, inlined
        product._data = a * b
        product.grad = 0.0
        product._op = MUL
        product._a = w
        product._b = x
        product._la = b
        product._lb = a
        if recording:
            modes.record(product)
        append(product)
    return _sum_node(terms)


# --------------------------------------------------------------------------- backward


def backward(self: Any, gradient: Any = 1.0, create_graph: bool = False) -> None:
    """engine's Value.backward: the same order (graph.topological_order) and arithmetic, faster."""
    if create_graph:
        engine._backward_with_graph(self, gradient)
        return
    if type(gradient) is not float:
        gradient = engine._number_of(gradient, "backward(gradient=...)")
    if self._a is None:  # a leaf: nothing upstream, its gradient accumulates
        self.grad += gradient
        return
    mark = float("0")  # a new float object: no node can hold it from an earlier call
    order = _interior_order_zeroing_grads(self, mark)
    self.grad += gradient
    many = _MANY
    add = ADD
    high = _INF
    low = -_INF
    # An optimization of the chain-rule step `engine.chain_rule` (Value._backward applies it to .grad),
    # inlined per layout. The reference's parent.grad += g · d, with shortcuts that change no number: nothing is
    # pushed from a node whose gradient is 0; a + node passes g itself on (g · 1 = g), stored
    # as is where it is the first contribution (the node still holds the mark), so a chain of
    # + shares one float instead of making one per node; only a non-finite g needs the
    # reference's care (a zero local derivative contributes 0, never 0 · ∞ = nan).
    for node in reversed(order):
        g = node.grad
        if not g:  # nothing flows
            continue
        b = node._b
        if node._op is add and b is not many:  # ∂/∂a = ∂/∂b = 1: g itself flows on, stored where it arrives first
            a = node._a
            if a.grad is mark:
                a.grad = g
            else:
                a.grad += g
            if b.grad is mark:
                b.grad = g
            else:
                b.grad += g
        elif not (g < high and g > low):  # ±inf or nan: the reference rule (a zero factor contributes 0)
            node._backward()
        elif b is None:  # one parent
            node._a.grad += g * node._la
        elif b is not many:  # two parents
            node._a.grad += g * node._la
            b.grad += g * node._lb
        elif node._la is None:  # its own _backward closure (or none: an error naming the node)
            node._backward()
        else:  # three or more
            for parent, d in zip(node._a, node._la):
                parent.grad += g * d


def _interior_order_zeroing_grads(root: Any, mark: float | None = None) -> list[Any]:
    """``topological_order(root, leaves=False)``, setting each listed node's ``grad`` to 0.

    The walk of ``graph.topological_order`` step for step, so the same order, but it keeps
    its "entered" marks in the nodes instead of a set: a node is marked by setting its
    gradient to ``mark``, a float 0.0 made for this call alone, which is also the reset
    backward needs, and a million-node graph needs no million-entry set. Leaves are never touched.
    """
    if mark is None:
        mark = float("0")  # a new float object: no node can hold it from an earlier call
    many = _MANY
    order: list[Any] = []
    append = order.append
    stack: list[Any] = [root]
    push = stack.append
    pop = stack.pop
    # `while True` ended by IndexError, not `while stack`: CPython 3.11 specializes a
    # function only after 8 calls or 8 *unconditional* backward jumps, and `while stack`
    # jumps back conditionally, so a walk run once per training step would stay slow for
    # its first eight steps (3.12 compiles `while stack` to an unconditional jump too).
    while True:
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


def _accumulate(order: list[Any], seed: Any, create_graph: bool) -> dict[Any, Any]:
    """A copy of engine._accumulate (the chain rule into a dict, for grad()) reading the packed layout: its
    inner loop is an optimization of the chain-rule step `engine.chain_rule` (``if d``: a zero factor adds nothing)."""
    if create_graph:
        return _reference_accumulate(order, seed, create_graph)  # type: ignore[no-any-return]
    grads: dict[Any, Any] = {order[-1]: seed}
    get = grads.get
    many = _MANY
    for node in reversed(order):
        g = get(node)
        a = node._a
        if not g or a is None:  # not reached, a zero gradient (contributes nothing) or a leaf
            continue
        b = node._b
        if b is None:
            pairs: Any = ((a, node._la),)
        elif b is not many:
            pairs = ((a, node._la), (b, node._lb))
        else:
            local = node._la if node._la is not None else node._kept_local_grads
            if local is None:
                raise engine._no_rule(node, "grad()")
            pairs = zip(a, local)
        for parent, d in pairs:
            if d:
                before = get(parent)
                grads[parent] = g * d if before is None else before + g * d
    return grads


_reference_accumulate: Any = None


# --------------------------------------------------------------------------- run what you read

# Each copy here and the rule it copies (tests/test_fast.py checks them on random inputs).
COPIES = {"__add__": "ADD", "__radd__": "ADD", "__mul__": "MUL", "__rmul__": "MUL", "relu": "RELU",
          "sum_values": "SUM", "dot": "MUL and SUM", "_accumulate": "the chain rule (grad)"}  # fmt: skip

# What each copy stands in for: the reference definition it replaces, and every other definition of
# engine.py whose code it copies or skips — the rule it inlines (ADD, ...) and the path an operation
# takes there (Op.__call__ → _apply → _partials_at → _node, and _checked/_constant for a number operand),
# and the copies it calls directly (__radd__ calls this module's __add__). An edit of any of them
# sets the copy aside. backward depends on ADD (its + shortcut passes the gradient on unmultiplied)
# and on Value._backward and chain_rule (its loop inlines the chain rule at one node); _accumulate on
# chain_rule. The watched definitions outside engine.py are in OTHER_FILES' files; compat.py, graph.py
# and modes.py are not watched.
_OPERATION = ("Op.__call__", "_apply", "_partials_at", "_node", "_checked", "_constant")
STANDS_IN_FOR: dict[str, tuple[str, ...]] = {
    "Value.__init__": ("Value.__init__",),
    "Value.__add__": ("Value.__add__", "ADD", *_OPERATION),
    "Value.__radd__": ("Value.__radd__", "Value.__add__", "ADD", *_OPERATION),
    "Value.__mul__": ("Value.__mul__", "MUL", *_OPERATION),
    "Value.__rmul__": ("Value.__rmul__", "Value.__mul__", "MUL", *_OPERATION),
    "Value.relu": ("Value.relu", "RELU", "step", "_number", *_OPERATION),  # RELU's partial step(x), inlined
    "Value.backward": ("Value.backward", "Value._backward", "chain_rule", "ADD", "topological_order"),
    "Value._make_leaf": ("Value._make_leaf",),
    "_node": ("_node",),
    "_constant": ("_constant", "_node"),
    "sum_values": ("sum_values", "SUM", "_left_sum", *_OPERATION),
    "dot": ("dot", "sum_values", "MUL", "SUM", "_left_sum", *_OPERATION),
    "_accumulate": ("_accumulate", "chain_rule"),
}

# ---- fingerprints (generated by `python -m autograd._fingerprints --write`: do not edit by hand)
# fmt: off
ENGINE_SHA256 = "e424a06df3bf2b0953e966bd34d3feeee60c26effcf218969ccb9a4082efacc5"
FINGERPRINTS = {
    "ADD": "3c52b23b6a7c3d40",
    "MUL": "488689d542d3191c",
    "Op.__call__": "56522d9fd9f2c9a5",
    "RELU": "011a2f78949fc40e",
    "SUM": "17699f06c93ab1b7",
    "Value.__add__": "e4404717068c0eac",
    "Value.__init__": "1f3055fecab6cec7",
    "Value.__mul__": "9d20f37e53c8ea95",
    "Value.__radd__": "9d1543f1e12aa792",
    "Value.__rmul__": "2e375e0969e4231c",
    "Value._backward": "d5da9c331b46c5e8",
    "Value._make_leaf": "2484a19a3f1ff1f9",
    "Value.backward": "200eba7bb1cf58e0",
    "Value.relu": "461b434c41f3ad25",
    "_accumulate": "d13ac93eaf2aaca7",
    "_apply": "147217637f111c5a",
    "_checked": "513ea1a9d60c204b",
    "_constant": "1e30a89a62e09da6",
    "_left_sum": "93d1eb3ec6ee00d7",
    "_node": "ee7d898e54da5c23",
    "_number": "9f26831ac3ee5337",
    "_partials_at": "86fef9b5dcb17b75",
    "chain_rule": "8ced3eeebea55c96",
    "dot": "a58919474b60d531",
    "step": "99868ddfe9f574ef",
    "sum_values": "89146f16ac9f9783",
    "topological_order": "95b937de6668b794",
}
# fmt: on
# ---- end of fingerprints


# Fields of the syntax tree that are not code, or that some Python versions lack or fill differently.
def watched() -> list[str]:
    """The reference definitions the copies stand in for, in order: the keys of ``FINGERPRINTS``."""
    return sorted({name for names in STANDS_IN_FOR.values() for name in names})


def edited(path: str | None) -> list[str]:
    """The watched definitions whose code in the file at ``path`` (and ``OTHER_FILES`` beside it) differs
    from ``FINGERPRINTS`` (a missing one counts as edited). Reads the files once; parses them only if they
    changed at all."""
    import os

    try:
        with open(path or "", "rb") as file:
            raw = file.read()
    except OSError:  # no source beside the module (a zip, a frozen build): nothing a learner can edit
        return []
    raw = with_other_files(raw, os.path.dirname(os.path.abspath(path or "")))
    if hashlib.sha256(raw).hexdigest() == ENGINE_SHA256:
        return []
    now = fingerprints(raw, watched())
    return [name for name in watched() if now.get(name) != FINGERPRINTS.get(name)]


def set_aside(changed: list[str]) -> list[str]:
    """The copies that stand in for any of the ``changed`` definitions (they stay out)."""
    return [copy for copy, names in STANDS_IN_FOR.items() if set(names) & set(changed)]


# --------------------------------------------------------------------------- install

SET_ASIDE: list[str] = []  # the copies left out at install, because engine.py's code for them changed


def install(engine_module: ModuleType) -> None:
    """Rebuild ``engine.Value`` with the packed layout and these methods; point the engine's
    node constructor, constants, ``sum_values`` and ``dot`` at the copies here — except the copies
    whose reference definitions were edited (``STANDS_IN_FOR``): there the reference runs."""
    global engine, Value, ADD, MUL, RELU, SUM, CONSTANT, _real, _reference_init, _reference_accumulate
    engine = engine_module
    changed = edited(getattr(engine_module, "__file__", None))
    SET_ASIDE[:] = off = set_aside(changed)
    if off:
        import os

        sys.stderr.write(notice(changed, off, os.path.dirname(os.path.abspath(engine_module.__file__ or ""))))
    ADD, MUL, RELU, SUM, CONSTANT = engine.ADD, engine.MUL, engine.RELU, engine.SUM, engine.CONSTANT
    _real = engine._real
    reference = engine.Value
    _reference_init = reference.__init__
    namespace = {
        key: value
        for key, value in vars(reference).items()
        if key not in ("__slots__", "__dict__", "__weakref__") and key not in reference.__slots__
    }
    namespace.update(
        __slots__=SLOTS,
        _parents=property(_get_parents, _set_parents, doc=reference.parents.__doc__),
        _local_grads=property(_get_local_grads, _set_local_grads),
        _push=reference._backward,  # the reference's chain rule at one node
        _backward=property(_get_backward, _set_backward, doc=reference._backward.__doc__),
        _kept_local_grads=None,
    )
    methods = {"__init__": __init__, "__add__": __add__, "__radd__": __radd__, "__mul__": __mul__,
               "__rmul__": __rmul__, "relu": relu, "backward": backward, "_make_leaf": _make_leaf}  # fmt: skip
    # __wrapped__: inspect.getsource(Value.backward) and Jupyter's ?? show the reference, the code to read and edit
    for name, method in methods.items():
        method.__wrapped__ = vars(reference)[name]  # type: ignore[attr-defined]
    namespace.update({name: method for name, method in methods.items() if "Value." + name not in off})
    Value = type(reference.__name__, reference.__bases__, namespace)
    engine.Value = Value
    functions = {"_node": _node, "_constant": _lift, "sum_values": sum_values, "dot": dot, "_accumulate": _accumulate}
    _reference_accumulate = engine._accumulate
    for name, function in functions.items():
        function.__wrapped__ = getattr(engine, name)  # type: ignore[attr-defined]
        if name not in off:
            setattr(engine, name, function)
    modes.listeners.append(_set_active)
    _set_active(modes.active)
