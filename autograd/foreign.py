"""Reading a learner's own micrograd-like graph, and mirroring it as stepgrad ``Value``s.

A *foreign* node is any object with ``data`` and ``grad`` and its parents in ``_prev``
(micrograd: a set), ``_children`` (microgpt: a tuple) or ``_parents``; optionally an op
symbol in ``_op`` (``'+'``, ``'*'``, ``'**2'``, ``'tanh'``, ``'ReLU'``, ...), local
derivatives in ``_local_grads`` (microgpt) and a ``label``.

Reading never runs the learner's code: attributes are read from the instance's ``__dict__``
or its slots, or taken from the class when they are plain values there (``_op = ''``); a
property or any other descriptor on the learner's class is refused with an error naming it
(``inspect.getattr_static`` finds it without calling it), as is a parent container of a
type of the learner's own. Numbers are Python ints and floats and numpy scalars.

``mirror(root)`` copies the graph into stepgrad nodes: same data, same labels, and for each
node the operands in order (micrograd's set ``_prev`` records ``a + a`` with one parent: the
operands are read from the op and the data, see ``interpret``), the stepgrad ``Op`` whose rule
gives its local derivatives, or the reason it has none. The copy is made iteratively over
one depth-first walk (a million-node chain needs no recursion), detects cycles and refuses
graphs over ``max_nodes``. ``graph.topological_order`` of the copy is then the one order the
check, the drawing and the stepper use.
"""

from __future__ import annotations

import inspect
import math
import numbers
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import engine
from .engine import Op, Value

MAX_NODES = 2_000_000  # a graph larger than this is refused (clear error), before it fills the memory
FORWARD_REL = 1e-7  # how closely a node's data must match its op's forward (learners write tanh with exp)
FORWARD_ABS = 1e-10

_PARENT_NAMES = ("_prev", "_children", "_parents")
_CONTAINERS = (set, frozenset, tuple, list)


class ForeignGraphError(ValueError):
    """A graph that cannot be read: a cycle, too many nodes, a property, a value that is not a number."""


_MISSING = object()


def read_attribute(obj: Any, name: str) -> Any:
    """``obj.name`` read without running code of ``obj``'s class (``_MISSING`` when it has none).

    Instance ``__dict__`` first, then slots and plain class values; a property or other
    descriptor on the class raises ``ForeignGraphError`` naming the class and the attribute.
    (``inspect.getattr_static``'s rules, with the class's part looked up once per class.)
    """
    cls = type(obj)
    per_class = _HOW.get(cls)
    if per_class is None:
        per_class = _HOW[cls] = {}
    how = per_class.get(name)
    if how is None:
        how = per_class[name] = _how_stored(cls, name)
    kind, found = how
    if kind == "slot":
        try:
            return found.__get__(obj, cls)
        except AttributeError:
            return _MISSING
    if kind == "refuse":
        return _MISSING if name == "label" else _refuse(obj, name, found)
    try:
        own = object.__getattribute__(obj, "__dict__")
    except AttributeError:
        own = None
    if type(own) is dict and name in own:
        return own[name]
    if kind == "method":
        return _MISSING if name == "label" else _refuse(obj, name, "a method")
    return found


# per class, how each attribute is stored; weak, so a class a notebook redefines is not kept alive
_HOW: weakref.WeakKeyDictionary[type, dict[str, tuple[str, Any]]] = weakref.WeakKeyDictionary()


def _how_stored(cls: type, name: str) -> tuple[str, Any]:
    """How a class stores an attribute: a slot, a descriptor to refuse, a method, or (instance dict, default)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            found = klass.__dict__[name]
            break
    else:
        return "dict", _MISSING
    if inspect.ismemberdescriptor(found):  # a slot: reading it runs no Python code
        return "slot", found
    kind = type(found)
    if hasattr(kind, "__set__") or hasattr(kind, "__delete__"):  # a data descriptor wins over the instance
        return "refuse", f"a {kind.__name__}"
    if hasattr(kind, "__get__") and not isinstance(found, (numbers.Number, str)):
        return "method", found
    return "dict", found


def _refuse(obj: Any, name: str, what: str) -> Any:
    raise ForeignGraphError(
        f"check_backward reads attributes only and never runs your code: {type(obj).__name__}.{name} is {what} "
        f"on the class; store {name} as a plain attribute (self.{name} = ...)"
    )


def read_number(obj: Any, name: str, value: Any) -> float:
    """A node's ``data`` or ``grad`` as a float: Python and numpy numbers only."""
    kind = type(value)
    if kind is float:
        return value  # type: ignore[no-any-return]
    if isinstance(value, (int, float)) or (kind.__module__ == "numpy" and isinstance(value, numbers.Real)):
        try:
            return float(value)
        except OverflowError:
            raise ForeignGraphError(f"{describe_raw(obj)}: {name} is too large for a float") from None
    if value is _MISSING:
        raise ForeignGraphError(f"{describe_raw(obj)} has no {name} attribute: is it a node of a micrograd-like graph?")
    raise ForeignGraphError(
        f"{describe_raw(obj)}: {name} must be a number (int, float or numpy scalar), got {kind.__name__}"
    )


def describe_raw(obj: Any) -> str:
    """A node described without calling its ``__repr__``: its class and label."""
    label = obj._label if is_value(obj) else read_attribute_quietly(obj, "label")
    shown = f" {label!r}" if isinstance(label, str) and label else ""
    return f"node{shown} ({type(obj).__name__})"


def read_attribute_quietly(obj: Any, name: str) -> Any:
    try:
        return read_attribute(obj, name)
    except ForeignGraphError:
        return _MISSING


def is_value(obj: Any) -> bool:
    """Whether ``obj`` is a stepgrad ``Value``, decided from its type (``isinstance`` may read ``obj.__class__``,
    which runs a learner's ``__getattribute__``)."""
    return issubclass(type(obj), Value)


@dataclass
class Node:
    """What was read from one foreign node (or stepgrad ``Value``)."""

    obj: Any
    data: float
    grad: float
    label: str
    op: str  # the op symbol ('' for a leaf or when the class records none)
    parents: list[Any]  # the distinct parent objects (a set's: sorted by label, then data, for repeatable reports)
    ordered: bool  # True when the parents are stored in operand order (a tuple), False for a set
    local_grads: tuple[float, ...] | None  # the learner's _local_grads, if any


def read_node(obj: Any) -> Node:
    """One node's attributes (see the module docstring)."""
    if is_value(obj):  # a stepgrad node inside the learner's graph: read its fields directly
        local = obj._local_grads
        numbers_ = tuple(read_number(obj, "_local_grads", d) for d in local) if local else None
        grad = read_number(obj, "grad", obj.grad)
        return Node(obj, obj._data, grad, obj._label, str(obj._op), list(obj._parents), True, numbers_)
    data = read_number(obj, "data", read_attribute(obj, "data"))
    grad_value = read_attribute(obj, "grad")
    grad = read_number(obj, "grad", grad_value)
    label = read_attribute(obj, "label")
    op = read_attribute(obj, "_op")
    parents_value: Any = _MISSING
    for name in _PARENT_NAMES:
        parents_value = read_attribute(obj, name)
        if parents_value is not _MISSING:
            break
    if parents_value is _MISSING or parents_value is None:
        parents_value = ()
    if type(parents_value) not in _CONTAINERS:
        raise ForeignGraphError(
            f"{describe_raw(obj)}: its parents must be a set, tuple or list (micrograd's _prev, microgpt's "
            f"_children), got {type(parents_value).__name__}"
        )
    parents = list(parents_value)
    if type(parents_value) in (set, frozenset) and len(parents) > 1:
        parents.sort(key=_set_order)  # a set's order changes from run to run: by label, then data
    local = read_attribute(obj, "_local_grads")
    local_numbers = None
    if local is not _MISSING and local is not None:
        if type(local) not in (tuple, list):
            raise ForeignGraphError(f"{describe_raw(obj)}: _local_grads must be a tuple or list")
        local_numbers = tuple(read_number(obj, "_local_grads", d) for d in local)
    return Node(
        obj,
        data,
        grad,
        label if isinstance(label, str) else "",
        op if isinstance(op, str) else "",
        parents,
        type(parents_value) in (tuple, list),
        local_numbers,
    )


def _set_order(obj: Any) -> tuple[str, float]:
    """A parent's place among a set's parents: its label, then its data (ties keep the set's order)."""
    label = obj._label if is_value(obj) else read_attribute_quietly(obj, "label")
    data = obj._data if is_value(obj) else read_attribute_quietly(obj, "data")
    number = float(data) if isinstance(data, (int, float)) and not isinstance(data, bool) else 0.0
    return (label if isinstance(label, str) else "", number if number == number else 0.0)


def is_foreign_node(obj: Any) -> bool:
    """True when ``obj`` looks like a node of a micrograd-like graph (has data, grad and a parents field)."""
    if issubclass(type(obj), type) or is_value(obj):
        return False
    try:
        has_data = read_attribute(obj, "data") is not _MISSING and read_attribute(obj, "grad") is not _MISSING
        return has_data and any(read_attribute(obj, name) is not _MISSING for name in _PARENT_NAMES)
    except ForeignGraphError:
        return False


# --------------------------------------------------------------------------- ops: symbols → stepgrad rules

_SUB = Op("-", lambda a, b: a - b, lambda a, b, out: (1.0, -1.0))  # a − b: stepgrad's a + b·(−1), as one node
_NEG = Op("neg", lambda a: -a, lambda a, out: (-1.0,))  # −a: stepgrad's a·(−1)

# the rule table's one-input ops, in table order, then negation; looked up by lower-case symbol or public name
_UNARY_OPS: list[Op] = [op for op in engine.PRIMITIVES.values() if op.arity == 1] + [_NEG]
_UNARY: dict[str, Op] = {key: op for op in _UNARY_OPS for key in (str(op).lower(), op.name) if key}
_UNARY["-"] = _NEG
# the rule table's two-input ops by symbol (+ * / **), and subtraction
_BINARY_OPS: list[Op] = [op for op in engine.TABLE.values() if op.arity == 2] + [_SUB]
_BINARY: dict[str, Op] = {str(op): op for op in _BINARY_OPS}
_COMMUTATIVE = ("+", "*")


@dataclass
class Reading:
    """How stepgrad reads one node: its operands in order, the rule, and a note (why unchecked, or how inferred)."""

    operands: list[Any]
    op: Op | None  # None: stepgrad cannot interpret it
    note: str = ""  # the reason it is unchecked (op None), or how the op was inferred


def _forward_matches(op: Op, xs: list[float], out: float) -> bool:
    try:
        y = op.forward(*xs)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        return False
    y = float(y)
    if math.isnan(y) or math.isnan(out):
        return math.isnan(y) and math.isnan(out)
    return math.isclose(y, out, rel_tol=FORWARD_REL, abs_tol=FORWARD_ABS)


def _power_op(symbol: str) -> Op | None:
    """micrograd's ``'**3'`` (a constant power) as stepgrad's ``power(3)``."""
    try:
        k = float(symbol[2:])
    except ValueError:
        return None
    return engine.power(int(k) if k.is_integer() else k)


def op_for_symbol(symbol: str, arity: int) -> Op | None:
    """stepgrad's rule for an op symbol with ``arity`` operands, or None."""
    key = symbol.strip()
    if arity == 1:
        if key.startswith("**") and len(key) > 2:
            return _power_op(key)
        return _UNARY.get(key.lower())
    if arity == 2:
        return _BINARY.get(key)
    if key == "+":
        return engine.SUM
    return None


def interpret(node: Node, data_of: dict[int, float]) -> Reading:
    """The operands and rule of a non-leaf node; ``data_of`` maps id(parent) to its data.

    micrograd's set ``_prev`` loses repeated operands and their order: a binary op with one
    parent is that parent used twice (``a + a``, ``a * a``); with two parents of a
    non-commutative op the order is the one whose forward gives the node's data. Without an op
    symbol (microgpt) the op is inferred from the data and the learner's ``_local_grads``.
    Whatever is read must reproduce the node's data, else the node is not interpreted.
    """
    parents = node.parents
    own_op = node.obj._op if is_value(node.obj) else None
    if isinstance(own_op, Op):  # a stepgrad node: its own rule, its operands in order
        return Reading(parents, own_op)
    xs = [data_of[id(p)] for p in parents]
    symbol = node.op
    if not symbol:
        return _infer(node, xs)
    candidates: list[list[int]] = [list(range(len(parents)))]
    op = op_for_symbol(symbol, len(parents))
    if not node.ordered and len(parents) == 1 and op_for_symbol(symbol, 2) is not None:
        op_unary, op = op, op_for_symbol(symbol, 2)
        if op_unary is not None and _forward_matches(op_unary, xs, node.data):  # e.g. '-' as negation
            return Reading(parents, op_unary)
        candidates = [[0, 0]]  # a + a: one parent in the set, two operands
    elif not node.ordered and len(parents) == 2 and symbol.strip() not in _COMMUTATIVE:
        candidates = [[0, 1], [1, 0]]
    if op is None:
        return Reading(parents, None, f"op {symbol!r} with {len(parents)} operand(s) has no rule in stepgrad")
    fits = [c for c in candidates if _forward_matches(op, [xs[i] for i in c], node.data)]
    if not fits:
        shown = ", ".join(f"{x:g}" for x in xs)
        return Reading(
            parents, None, f"its data {node.data:g} is not {symbol}({shown}): cannot tell how it was computed"
        )
    if len(fits) > 1 and _partials(op, [xs[i] for i in fits[0]], node.data) != _partials(
        op, [xs[i] for i in fits[1]], node.data
    ):
        return Reading(parents, None, f"op {symbol!r}: its parents are a set, and either order fits its data")
    return Reading([parents[i] for i in fits[0]], op)


def _partials(op: Op, xs: list[float], out: float) -> tuple[Any, ...]:
    return engine._partials_at(op, xs, out)


def _infer(node: Node, xs: list[float]) -> Reading:
    """An op without a symbol (microgpt): the stepgrad ops whose forward gives the data; if they disagree on
    the derivatives, the learner's ``_local_grads`` pick the exponent of a power, else it is not interpreted."""
    parents = node.parents
    n = len(parents)
    if n == 2:
        ops = list(_BINARY_OPS)
    elif n == 1:
        ops = list(_UNARY_OPS)
        if node.local_grads and len(node.local_grads) == 1 and node.data and xs[0]:
            k = node.local_grads[0] * xs[0] / node.data  # d(x^k)/dx = k·x^(k−1) = k·out/x
            if math.isfinite(k) and abs(k - round(k)) < 1e-9:
                ops.insert(0, engine.power(int(round(k))))
            elif math.isfinite(k):
                ops.insert(0, engine.power(k))
    elif n > 2:
        ops = [engine.SUM]
    else:
        ops = []
    fits = [op for op in ops if _forward_matches(op, xs, node.data)]
    if not fits:
        return Reading(parents, None, "no op symbol, and no stepgrad op gives its data from its parents' data")
    derivatives = {_rounded(_partials(op, xs, node.data)) for op in fits}
    if len(derivatives) > 1:
        names = ", ".join(str(op) for op in fits)
        return Reading(parents, None, f"no op symbol, and several ops fit its data with different derivatives: {names}")
    return Reading(parents, fits[0], f"op inferred from the data: {fits[0]}")


def _rounded(values: tuple[Any, ...]) -> tuple[float, ...]:
    return tuple(float(f"{float(v):.9g}") for v in values)


# --------------------------------------------------------------------------- the mirror


@dataclass
class Mirror:
    """A foreign graph copied as stepgrad nodes: ``root``, and for each copy what was read (``node_of``)."""

    root: Value
    node_of: dict[Value, Node]  # the copy → the learner's node as read
    reading_of: dict[Value, Reading]  # non-leaf copies → how they were read
    copy_of: dict[int, Value]  # id(learner's object) → its copy
    names: Mapping[Value, str] | None = None  # the drawing's names of the copies, made when first needed


def mirror(root: Any, max_nodes: int = MAX_NODES) -> Mirror:
    """Copy ``root``'s graph as stepgrad ``Value``s (iterative; cycles and graphs over ``max_nodes`` refused).

    A node stepgrad cannot interpret keeps its operands and its op symbol, with the learner's
    ``_local_grads`` as its local derivatives when it has them, else with nan ones (unknown).
    """
    read: dict[int, Node] = {}
    done: dict[int, Value] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    node_of: dict[Value, Node] = {}
    reading_of: dict[Value, Reading] = {}
    data_of: dict[int, float] = {}
    while stack:
        obj, finish = stack.pop()
        key = id(obj)
        if finish:
            on_path.discard(key)
            node = read[key]
            copy = _copy(node, data_of, done, reading_of)
            done[key] = copy
            node_of[copy] = node
            continue
        if key in done:
            continue
        if key in on_path:
            raise ForeignGraphError(
                f"the graph has a cycle through {describe_raw(obj)} (data {read[key].data:g}): a node is its own "
                "ancestor, so no backward order exists"
            )
        node = read.get(key) or read_node(obj)
        if key not in read:
            read[key] = node
            data_of[key] = node.data
            if len(read) > max_nodes:
                raise ForeignGraphError(
                    f"the graph has more than max_nodes={max_nodes} nodes; pass a larger max_nodes=... to check it"
                )
        on_path.add(key)
        stack.append((obj, True))
        for parent in node.parents:
            pk = id(parent)
            if pk in on_path:
                raise ForeignGraphError(
                    f"the graph has a cycle through {describe_raw(parent)}: a node is its own ancestor, "
                    "so no backward order exists"
                )
            if pk not in done:
                stack.append((parent, False))
    return Mirror(done[id(root)], node_of, reading_of, done)


def _copy(node: Node, data_of: dict[int, float], done: dict[int, Value], reading_of: dict[Value, Reading]) -> Value:
    if not node.parents:
        copy = engine._node(node.data, (), engine.CONSTANT if _is_constant(node) else "", ())
    else:
        reading = interpret(node, data_of)
        parents = tuple(done[id(p)] for p in reading.operands)
        if reading.op is not None:
            local: tuple[Any, ...] = _partials(reading.op, [p._data for p in parents], node.data)
            copy = engine._node(node.data, parents, reading.op, local)
        else:
            given = node.local_grads if node.local_grads and len(node.local_grads) == len(parents) else None
            local = given if given is not None else (math.nan,) * len(parents)
            copy = engine._node(node.data, parents, node.op or "?", local)
        reading_of[copy] = reading
    if node.label:
        copy.label = node.label
    return copy


def _is_constant(node: Node) -> bool:
    """A stepgrad constant inside a mixed graph stays drawn as a constant."""
    return is_value(node.obj) and node.obj.is_constant
