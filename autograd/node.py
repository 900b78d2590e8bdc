"""What a node shows: the read-only views of a ``Value``'s fields, its ``data`` setter and its ``repr``.

``engine.Value`` inherits ``Node``; its fields (``_data``, ``grad``, ``_op``, ``_parents``,
``_local_grads``) are declared in ``engine.py``, where a node is made. A read of ``data``,
``local_grads`` or ``repr`` is noted while ``autograd.compiled`` traces (``modes.note_read``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import modes
from .compat import Compat
from .limits import _real, _shown
from .modes import Scope

if TYPE_CHECKING:
    from .engine import Number, Value


class _ConstantMark(str):
    """The op of a constant: an empty symbol (so ``if node._op:`` treats it as a leaf), but marked."""

    def __reduce__(self) -> str:
        return "CONSTANT"  # pickled by name: unpickling gives this very marker


CONSTANT = _ConstantMark("")


class Node(Compat):
    """The public view of a node's fields (a base of ``Value``: no slots of its own)."""

    __slots__ = ()  # Value declares the slots (and keeps a __dict__)
    _data: float
    grad: Any
    _op: Any
    _parents: tuple[Value, ...]
    _local_grads: tuple[Any, ...] | None
    _label = ""  # class defaults: a node stores these only when it has them (in __dict__)
    _scope: Scope | None = None

    @property
    def data(self) -> float:
        """The number this node holds."""
        if modes.active:
            modes.note_read(self)
        return self._data

    @data.setter
    def data(self, value: Number) -> None:
        if isinstance(value, Compat):  # a Value
            raise TypeError(
                "Value.data must be a number, got a Value (after backward(create_graph=True) every .grad is a "
                "Value: use its number, p.data -= lr * p.grad.data)"
            )
        self._data = value if type(value) is float else _real(value, "Value.data")  # type: ignore[misc]  # a slot of Value

    @property
    def label(self) -> str:
        """A name for drawings and the stepper ('' unless given: nodes made by operations have none)."""
        return self._label

    @label.setter
    def label(self, label: str) -> None:
        if not isinstance(label, str):
            raise TypeError(f"a Value's label must be a string, got {type(label).__name__} {_shown(label)}")
        self._label = label  # type: ignore[misc]  # in a Value's __dict__

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

    def __repr__(self) -> str:  # also str(), format() and f-strings: they show the number, so they read it
        if modes.active:
            modes.note_read(self)
        extra = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self._data}, grad={self.grad}{extra})"

    @property
    def is_constant(self) -> bool:
        """True for a leaf made from a Python number by an operation (the 2 in ``x * 2``)."""
        return self._op is CONSTANT
