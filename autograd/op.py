"""``Op``: a scalar primitive — its symbol, forward function and local partials, and what the rest of
stepgrad needs to know about it (its public name, its forward on numpy arrays, whether it always has a value).

The rule table in ``engine.py`` is a list of ``Op``s; everything else derives from it: the public functions
(``autograd.exp``, ...), the command line's functions, the compiled replay's array forwards, the check
tool's names and the drawing's symbols. ``engine`` imports this module (it re-exports ``Op``, and pickles
of earlier versions name it ``autograd.engine.Op``); this module imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Value

Operand = Union["Value", int, float]


class Op(str):
    """A scalar primitive: its symbol (the string itself), forward function and local partials.

    ``forward(*xs)`` computes the result from the inputs' numbers; ``partials(*xs, out)``
    gives ∂out/∂xᵢ for each input. Written with arithmetic and ``autograd``'s functions
    (``exp``, ``log``, ``where``, ...), one rule evaluates on floats (``backward()``), on
    ``Value``s (``create_graph=True``) and on numpy arrays (compiled replay), so a
    user-defined op differentiates twice, compiles, draws and steps like a built-in one:

    >>> softsign = Op("softsign", lambda x: x / (1 + abs(x)), lambda x, out: (1 / (1 + abs(x)) ** 2,))
    >>> x = Value(1.0); y = softsign(x); y.backward()
    >>> y.data, x.grad                              # x/(1+|x|) = 1/2, 1/(1+|x|)² = 1/4
    (0.5, 0.25)

    A partial with a case split uses ``where(condition, a, b)`` (both sides are evaluated, as
    numpy's), never a Python ``if``, so it holds element by element on arrays too:

    >>> ramp = Op("ramp", lambda x: max(x, 0.0), lambda x, out: (where(x > 0, 1.0, 0.0),))
    >>> x = Value(-2.0); ramp(x).backward(); x.grad
    0.0

    Ops are equal only to themselves (``ADD != SUM``, though both draw as ``+``); against a
    plain string an op compares its symbol, so micrograd's ``node._op == "+"`` still works.

    Optional fields, used by the rule table in ``engine.py``: ``name``, the public function's name
    (``autograd.exp``, the command line's ``exp(x)``); ``array``, given the numpy module, the forward on
    numpy arrays (``lambda np: np.exp``; without it a compiled replay checks ``forward`` on arrays and
    otherwise evaluates it element by element); ``total=True``, the forward has a value at every input
    (±inf and nan included), so a compiled replay need not compute an unused node to raise its error.
    """

    forward: Callable[..., Any]
    partials: Callable[..., Sequence[Any]]
    name: str | None  # the public function's name: autograd.<name>, and <name>(x) on the command line
    array: Callable[[Any], Callable[..., Any]] | None  # numpy → the forward on arrays
    total: bool  # the forward has a value at every input: it never raises
    _remake: str | tuple[Any, ...] | None  # how pickle re-creates the op: built-in ops by name

    def __new__(
        cls,
        symbol: str,
        forward: Callable[..., Any],
        partials: Callable[..., Sequence[Any]],
        *,
        name: str | None = None,
        array: Callable[[Any], Callable[..., Any]] | None = None,
        total: bool = False,
    ) -> Op:
        if not isinstance(symbol, str) or not symbol:
            raise TypeError(f"Op needs a non-empty symbol string, got {symbol!r}")
        if not callable(forward) or not callable(partials):
            raise TypeError(f"Op {symbol!r}: forward and partials must be callables")
        if name is not None and not (isinstance(name, str) and name.isidentifier()):
            raise TypeError(f"Op {symbol!r}: name must be a Python identifier, got {name!r}")
        if array is not None and not callable(array):
            raise TypeError(f"Op {symbol!r}: array must be a function of the numpy module, got {array!r}")
        self = super().__new__(cls, symbol)
        self.forward, self.partials, self._remake = forward, partials, None
        self.name, self.array, self.total = name, array, bool(total)
        return self

    def __call__(self, *args: Operand) -> Value:
        """Apply the op: a new node holding its forward value and its local derivatives."""
        return _apply_op(self, args)

    @property
    def arity(self) -> int | None:
        """How many inputs the forward takes (None: any number, as ``max``)."""
        import inspect

        try:
            parameters = inspect.signature(self.forward).parameters.values()
        except (TypeError, ValueError):  # a callable without a signature (some C functions)
            return None
        if any(p.kind is p.VAR_POSITIONAL for p in parameters):
            return None
        return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in parameters)

    def __eq__(self, other: object) -> bool:
        return self is other if isinstance(other, Op) else str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__

    def __reduce__(self) -> str | tuple[Any, ...]:
        if self._remake is not None:
            return self._remake
        args = (str(self), self.forward, self.partials)
        fields = {"name": self.name, "array": self.array, "total": self.total}
        given = {key: value for key, value in fields.items() if value}  # none: as earlier versions pickled it
        return (Op, args, given) if given else (Op, args)

    def __copy__(self) -> Op:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Op:
        return self


def _apply_op(op: Op, args: Sequence[Operand]) -> Value:
    """``op`` applied to ``args``: engine.py's ``_apply``, which replaces this one when engine.py is imported
    (engine imports this module, so this module imports engine only here)."""
    from . import engine

    return engine._apply(op, args)
