"""What ``Value`` keeps for code written for micrograd and microgpt, out of the way of ``engine.py``.

- micrograd builds nodes by hand as ``Value(data, _children, _op)`` and gives them a ``_backward``
  closure; microgpt as ``Value(data, children, local_grads)`` (``hand_built``);
- ``Value(v)`` of a Value is ``v`` itself, so code that wraps its inputs works on Values (``Compat.__new__``);
- their names for a node's parents, ``_prev`` (a set) and ``_children`` (``Compat``);
- order by the number, so ``max(values)`` and ``sorted(values)`` work (``Compat``);
- the error a node built by hand gives where it has no rule to use (``no_backward_rule``, ``_no_rule``).

``engine.Value`` inherits ``Compat``. Nothing here is needed to read the engine; the accelerator
(``_fast.install``) rebuilds ``Value`` with the same bases, so these hold for it too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from . import modes

if TYPE_CHECKING:
    from .engine import Operand, Value

_V = TypeVar("_V", bound="Compat")


class Compat:
    """The micrograd/microgpt names and the ordering of a ``Value`` (a mixin: no slots of its own)."""

    __slots__ = ()
    _data: float
    _parents: tuple[Value, ...]

    def __new__(cls: type[_V], data: Any = 0.0, *args: Any, **kwargs: Any) -> _V:
        """``Value(v)`` of a Value ``v`` is ``v`` itself (as ``numpy.asarray`` of an array, ``jnp.asarray`` of a
        tracer): code that wraps its inputs, ``model([Value(a), Value(b)])``, works when they are Values
        already, and gradients reach them. To copy a number instead: ``Value(v.data)``."""
        if isinstance(data, Compat):
            if args or kwargs:
                raise TypeError(
                    "Value(v) of a Value v is v itself and takes no other arguments; to make a new node from its "
                    "number, use Value(v.data, ...)"
                )
            return data  # type: ignore[return-value]
        return object.__new__(cls)

    @property
    def _prev(self) -> set[Value]:
        """The parents as a set (micrograd's name)."""
        return set(self._parents)

    @property
    def _children(self) -> tuple[Value, ...]:
        """The parents (microgpt's name: the values this one was computed from)."""
        return self._parents

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


def _compared(a: Compat, other: Operand) -> tuple[float, float]:
    """The numbers a comparison orders. A comparison reads them like ``.data``: while a mode is on,
    the reads are reported (``autograd.compile``'s tracers freeze such numbers, and say so)."""
    if modes.active:
        modes.note_read(a)
        if isinstance(other, Compat):
            modes.note_read(other)
    if isinstance(other, Compat):
        return a._data, other._data
    from .limits import _real  # here, not at the top: limits.py imports Compat from this module

    return a._data, _real(other, "comparison")


def hand_built(
    _children: Sequence[Value] | str,
    _op: str | Sequence[Any],
    label: str,
    children: Sequence[Value] | None,
    local_grads: Sequence[Any] | None,
) -> tuple[Any, tuple[Value, ...], tuple[Any, ...] | None, str]:
    """The (op, parents, local derivatives, label) of ``Value(data, ...)``'s other arguments: a leaf's
    ('', (), (), label), or a node built by hand — micrograd's ``Value(data, _children, _op)`` (local
    derivatives None: its maker assigns a ``_backward`` closure) or microgpt's ``Value(data, children,
    local_grads)``. A label may come second, ``Value(2.0, "a")``."""
    if isinstance(_children, str):  # Value(2.0, "a"): a label given positionally
        label = _children
    given = children if children is not None else () if isinstance(_children, str) else _children
    if local_grads is None and not isinstance(_op, str):  # microgpt: Value(data, children, local_grads)
        _op, local_grads = "", _op
    parents: tuple[Value, ...] = tuple(given)
    local: tuple[Any, ...] | None
    if not parents:
        local = ()
    elif local_grads is None:  # micrograd: its maker assigns a _backward closure
        local = None
    else:
        local = tuple(local_grads)
        if len(local) != len(parents):
            raise ValueError(f"Value(): {len(parents)} children but {len(local)} local_grads")
    for i, parent in enumerate(parents):
        if not isinstance(parent, Compat):
            raise TypeError(f"Value(): children[{i}] must be a Value, got {type(parent).__name__}")
    return _op, parents, local, label


def _own_backward(node: Value) -> Callable[[], None] | None:
    """The ``_backward`` closure assigned to this node (micrograd style), or None."""
    return _attributes(node).get("_backward")


def _attributes(node: Value) -> dict[str, Any]:
    """The node's own attributes (label, scope, user's), without creating an empty ``__dict__``."""
    state: Any = node.__getstate__()
    return state[0] or {}


def no_backward_rule(node: Value) -> RuntimeError:
    """The error of ``backward()`` at a node built by hand with no local derivatives and no closure."""
    return RuntimeError(
        f"node {node!r} (op {node._op!r}) was built with Value(data, children, op) and has no "
        "derivative rule: assign it a _backward closure (micrograd style), pass local_grads (microgpt "
        "style), or declare the operation with autograd.Op"
    )


def _no_rule(node: Value, where: str) -> RuntimeError:
    return RuntimeError(
        f"node {node!r} (op {node._op!r}) was built by hand and has no derivative rule to differentiate "
        f"again: backward() can use it, but {where} needs the operation declared with autograd.Op"
    )
