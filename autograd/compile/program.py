"""Compile, stage 4: the program. One input structure's compiled step (``Program``): where every number
lives in one buffer, and the kernels; a replay computes the buffer and the gradients kernel by kernel and
adds ∂loss/∂leaf into the leaves' ``.grad``. ``ProgramStats`` says what a trace compiled to.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..engine import Value
from .arrays import _numpy
from .drawing import draw_program
from .kernels import _Kernel, _name

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure

np: Any = _numpy()  # this module is imported by compiled(), after numpy


@dataclass
class ProgramStats:
    """What one traced structure compiled to, and what that cost.

    ``nodes_traced``: nodes of the traced graph, leaves included. ``nodes``: nodes the kernels compute,
    after ``sums_flattened`` binary ``+`` nodes were merged into n-ary sums, ``products_fused``
    products used by one sum alone were computed inside it (a dot product: never stored), and
    ``constants_folded`` nodes of constants alone were folded. ``levels`` (``levels_traced`` before
    any of that); ``kernels``: forward kernels, one per level and op; ``edges``: chain-rule
    contributions per backward (none into constants or into input numbers). ``element_wise``: ops
    evaluated element by element (a user's op written with ``math.*``). ``trace_seconds``: the eager
    call and its backward; ``schedule_seconds``: building the program from the traced graph.
    """

    nodes_traced: int
    nodes: int
    constants: int
    parameters: int
    inputs: int
    sums_flattened: int
    products_fused: int
    constants_folded: int
    levels_traced: int
    levels: int
    kernels: int
    edges: int
    element_wise: tuple[str, ...]
    trace_seconds: float
    schedule_seconds: float


class Program:
    """One input structure's compiled step: where every number lives in one buffer, and the kernels.

    ``stats`` (a ``ProgramStats``) says what it compiled to; ``kernels()`` lists (level, op, nodes) per
    kernel; ``draw()`` pictures that.
    """

    stats: ProgramStats

    def __init__(self) -> None:
        self.constants: Any = None  # the numbers of the first slots, the constants
        self.params: list[Value] = []  # the leaves made outside fn, read fresh on every call
        self.param_start = self.value_start = self.number_start = self.number_count = 0
        self.size = 0  # slots: constants, parameters, Value arguments, numbers, then the kernels' outputs
        self.kernel_list: list[_Kernel] = []
        self.loss_slot = 0
        self.outputs: Any = None  # slots of the Values fn returned
        self.roles: list[tuple[str, int]] = []  # per returned Value: ("new", 0), ("param", i) or ("value", i)
        self.shape: Any = None  # what fn returned, with ("value", k) where the k-th Value was

    # ---- replay

    def run(self, numbers_: list[float], values: list[Value]) -> Any:
        """Forward and backward on new numbers; ∂loss/∂leaf added into every leaf's ``.grad``."""
        params = self.params
        buf, grad = self._compute(numbers_, values, np.fromiter(map(_get_data, params), float, len(params)))
        self._write_gradients(grad, values)
        return self._returned(buf, grad, values)

    def run_arrays(self, numbers_: list[float], values: list[Value], param_numbers: Any) -> tuple[float, Any]:
        """Forward and backward with the parameters' numbers given (one per ``self.params``): the loss and
        ∂loss/∂parameter as an array. No parameter's ``.data`` or ``.grad`` is read or written."""
        buf, grad = self._compute(numbers_, values, param_numbers)
        self._write_gradients(grad, values, params=False)
        return float(buf[self.loss_slot]), grad[self.param_start : self.param_start + len(self.params)]

    def _compute(self, numbers_: list[float], values: list[Value], param_numbers: Any) -> tuple[Any, Any]:
        """The buffer of every slot's number and the gradient of the loss with respect to every slot."""
        kernels = self.kernel_list
        with np.errstate(all="ignore"):
            buf = np.empty(self.size)
            buf[: len(self.constants)] = self.constants
            if self.params:
                buf[self.param_start : self.param_start + len(self.params)] = param_numbers
            if values:
                buf[self.value_start : self.value_start + len(values)] = [v._data for v in values]
            if self.number_count:
                buf[self.number_start : self.number_start + self.number_count] = numbers_
            try:
                saved = [kernel.run(buf) for kernel in kernels]
                trusted = bool(np.isfinite(buf).all())
            except Exception:  # noqa: BLE001 - a user's op, element by element, raised: see which one eager meets
                trusted = False
            if not trusted:  # ±inf or nan somewhere: kernel by kernel, the engine's numbers and errors
                failures: list[tuple[int, BaseException]] = []
                saved = [kernel.run(buf, failures) for kernel in kernels]
                if failures:  # eager stops at the first node it cannot compute: the replay raises its error
                    raise min(failures, key=lambda failure: failure[0])[1]
            grad = self._backward(buf, saved, careful=False)
            if not np.isfinite(grad).all():
                grad = self._backward(buf, saved, careful=True)
        return buf, grad

    def _backward(self, buf: Any, saved: list[tuple[Any, Any]], careful: bool) -> Any:
        """∂loss/∂slot for every slot: kernel by kernel from the last, upstream gradient × local derivative
        summed into the parents. ``careful`` applies the zero-factor rule of ``engine.chain_rule``, needed only
        where a gradient came out ±inf or nan."""
        grad = np.zeros(self.size)
        grad[self.loss_slot] = 1.0
        for kernel, state in zip(reversed(self.kernel_list), reversed(saved)):
            if kernel.scatters:
                kernel.backward(buf, grad, state, careful)
        return grad

    def _write_gradients(self, grad: Any, values: list[Value], params: bool = True) -> None:
        """leaf.grad += ∂loss/∂leaf for the parameters (unless ``params=False``) and Value arguments; a zero
        contributes nothing, as in backward()."""
        for leaves, start in ((self.params if params else [], self.param_start), (values, self.value_start)):
            if not leaves:
                continue
            part = grad[start : start + len(leaves)]
            nonzero = np.flatnonzero(part)
            if 2 * len(nonzero) > len(leaves):
                for leaf, g in zip(leaves, part.tolist()):
                    if g:
                        leaf.grad += g
            else:  # mostly zeros (leaves the step does not reach through a non-zero factor)
                for i, g in zip(nonzero.tolist(), part[nonzero].tolist()):
                    leaves[i].grad += g

    def _returned(self, buf: Any, grad: Any, values: list[Value]) -> Any:
        """What fn returned, with this call's numbers: a new leaf for each Value computed inside fn."""
        data = buf[self.outputs].tolist()
        grads = grad[self.outputs].tolist()
        made: list[Any] = []
        for k, (role, i) in enumerate(self.roles):
            if role == "param":
                made.append(self.params[i])
            elif role == "value":
                made.append(values[i])
            else:
                leaf = Value(data[k])
                leaf.grad = grads[k]
                made.append(leaf)

        def rebuild(shape: Any) -> Any:
            if shape[0] == "value":
                return made[shape[1]]
            if shape[0] == "object":
                return shape[1]
            return shape[1](rebuild(s) for s in shape[2])

        return rebuild(self.shape)

    # ---- looking at it

    def kernels(self) -> list[tuple[int, str, int]]:
        """(level, op, scalar nodes of the traced graph it computes) for every forward kernel, in the order
        they run. "Σ a·b" is a sum that computes its products itself (a dot product; a matrix product
        where they form one); its nodes count those products and the sums merged into it."""
        return [(k.level, _name(k), k.covers) for k in self.kernel_list]

    def draw(self, ax: Any = None, title: str | None = None) -> matplotlib.figure.Figure:
        """The program as a grid: one column per level, one row per op; each cell is one kernel, labelled
        with how many scalar nodes it computes at once (matplotlib, imported then)."""
        return draw_program(self, ax, title)


_get_data = operator.attrgetter("_data")
