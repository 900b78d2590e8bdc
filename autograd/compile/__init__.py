"""Compile: record a function's scalar graph once per input structure, replay it as numpy kernels.

Every training step of micrograd's demo builds the same 38,718-node graph with new numbers, and every
step of microgpt one of sixteen graphs (one per name length). ``compiled(fn)`` records the graph the
first time it meets an input structure and then replays it: forward and backward as a few dozen numpy
kernels instead of tens of thousands of Python objects (the idea of JAX's ``jit``, ``torch.jit.trace``
and tinygrad's scheduler, on scalars).

>>> step = compiled(lambda xs: sum_values([x * w for x, w in zip(xs, weights)]))   # doctest: +SKIP
>>> loss = step([1.0, 2.0])    # the first call traces: the eager result, and backward() ran
>>> loss = step([3.0, 4.0])    # replayed: w.grad += ∂loss/∂w for every weight, as backward() gives

**What a call does.** The arguments are data: numbers, ``Value``s, and lists or tuples of them, nested
(``static_argnums`` marks arguments that are not: hashable objects such as labels, part of the key).
The *structure* of the arguments (nesting, lengths, which items are numbers and which ``Value``s) picks
a program from a bounded cache. The first call for a structure runs ``fn`` eagerly on ``Value``s made
from the numbers, runs ``backward()`` on the loss and returns exactly what ``fn`` returned. Every later
call replays the program: it reads each parameter's ``.data`` fresh (so an optimizer's update between
calls is seen), computes the forward values and the gradients as array kernels, and adds ∂loss/∂p to
the ``.grad`` of every leaf the graph reached — parameters and ``Value`` arguments — accumulating as
``backward()`` does. ``fn`` returns the ``Value`` to differentiate (the loss), or a tuple
``(loss, *aux)`` whose other items (``Value``s, numbers, lists of them) are computed and returned too.
A replay returns the same shape: each ``Value`` computed inside ``fn`` comes back as a new leaf holding
its number in ``.data`` and ∂loss/∂v in ``.grad`` (the loss: 1.0); parameters and ``Value`` arguments
come back as themselves. Interior nodes do not exist on a replay: there is no graph to walk or draw.
The parameters are the leaves the trace reached: after replacing one by a new ``Value`` (rather than
changing its ``.data``), call ``clear()``. As in JAX, an argument is an input: a ``Value`` passed as an
argument that ``fn`` also closes over (``compiled(lambda x: x * w)(w)``) is traced as two leaves, so a
later call with another argument computes ``v * w``. ``Value(x)`` of a traced ``x`` is ``x`` itself.

**What is frozen at trace time** (as in JAX's ``jit`` and ``torch.jit.trace``): Python control flow,
and any number read out of a traced ``Value`` (``.data``, a comparison such as ``x > 0``, ``repr``,
``str``, an f-string, ``.local_grads``). Such a read warns once per source line (``TracerWarning``,
naming the file and line); ``strict=True`` makes it an error (``TraceError``). Numbers and ``Value``s
made inside ``fn`` (the 2 in ``x * 2``, ``Value(3.0)``) are constants, folded into the program.

**One rule, three evaluators.** Each op's partials in the engine's rule table are written with
arithmetic and ``autograd``'s functions, which dispatch on numpy arrays through the registry
``engine._ARRAY_FUNCTIONS`` filled here: the same rules give the local derivatives on floats
(``backward``), on ``Value``s (``create_graph``) and on arrays (here). There is no second table of
derivatives; the forwards of the built-in ops on arrays are numpy's functions (``ARRAY_FORWARDS``).
A user-defined ``Op`` compiles with no extra code: its forward and partials are tried on arrays and
checked against the float rule at the traced numbers and at probes of both signs, and evaluated
element by element where they differ or raise (``math.*``, a Python ``if`` on the input): the same
rule gives the same result at every kernel size, and no partial is frozen at its traced number.

**Numbers** follow the engine's policy: IEEE 754 values (±inf, nan flow through); an operation with no
value at its input raises the engine's own error, named as eagerly (where a kernel's operand or
result is ±inf or nan, or an element-wise op raised, the engine's scalar forward recomputes it and
raises where eager does; of several failing nodes, the one eager meets first, and nodes ``fn`` made
but did not use are computed where their op can fail, as eager computes them); a contribution through a
zero gradient or a zero local derivative is 0, never 0·∞ = nan.

**How it is fast.** The traced graph is simplified, then scheduled into kernels:

- a chain of binary ``+`` whose intermediate sums are used once becomes one n-ary sum (micrograd's
  ``sum(losses)`` is 100 deep, its ``Σ p²`` 337), added left to right from 0.0 as the engine adds;
  a constant term +0.0 is dropped and nodes of constants alone are folded;
- products used by one sum alone are computed inside it (a dot product: never stored), and where
  they form a matrix product — a layer applied at every position, a one-hot embedding — by one
  matmul per block;
- every node gets a *level* (1 + its parents' highest) and the nodes of one op at one level form one
  kernel: a gather of the operands (a slice where their slots are consecutive), the op's forward on
  arrays into one slice of a buffer, and the local partials backward needs — none where a partial is
  a constant (``+``), an operand (``*``: ∂(ab)/∂a = b) or the output (``exp``);
- backward runs kernel by kernel in reverse: upstream gradient × local derivative for each set of
  edges, assigned to a parent with no other edge, added where each parent occurs once, or summed per
  parent first (``numpy.bincount``).

A replay does Python work per kernel and per parameter (reading ``.data``, adding to ``.grad``), none
per node. Its numbers agree with eager to rounding: sums of terms keep the engine's order, but a
matmul and a gradient's contributions add in another order (relative differences of about 1e-15).
A replay keeps its numbers in arrays of its own, so a compiled function may run in several threads.

numpy is imported when ``compiled`` is first called (``pip install 'stepgrad[compile]'``); the engine
itself never imports it.

**The stages**, a module each, in the order of the pipeline: ``arrays`` (numpy, and the ops on
arrays), ``trace`` (the arguments, and the traced call watched), ``schedule`` (the traced graph → a
program: simplified, levelled, grouped into kernels, the backward's scatters planned), ``kernels`` (one op
at one level, forward and backward on arrays), ``program`` (a program's replay; ``drawing``: its picture),
``function`` (``Compiled``: a program per input structure, traced or replayed); ``checks`` keeps a replay
equal to the eager step. The modules that compute import numpy: they are imported by ``compiled``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .arrays import _numpy
from .checks import _a
from .trace import TraceError, TracerWarning

if TYPE_CHECKING:  # pragma: no cover
    from .function import Compiled
    from .program import Program, ProgramStats

__all__ = ["Compiled", "Program", "ProgramStats", "TraceError", "TracerWarning", "compiled"]

DEFAULT_CACHE_SIZE = 32

# The names of compile.py before it was a package, in the stages that compute (imported with numpy)
_LAZY = {"Compiled": "function", "Program": "program", "ProgramStats": "program"}
_STAGES = ("arrays", "trace", "checks", "kernels", "schedule", "program", "drawing", "function")


def __getattr__(name: str) -> Any:
    """``Compiled``, ``Program``, ``ProgramStats`` (and the private names compile.py had) from their stage,
    imported on first use: those stages import numpy (without it, ``Compiled`` & co. say so). A name no stage
    defines is an ``AttributeError`` at once, without importing numpy (``getattr(compile, "x", None)``)."""
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    for stage in _STAGES:
        if not name.startswith("__") and name in _defined_in(stage):
            return getattr(importlib.import_module(f"{__name__}.{stage}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _defined_in(stage: str) -> frozenset[str]:
    """The module-level names a stage defines (or imports), read from its source: no import, so no numpy."""
    names = _STAGE_NAMES.get(stage)
    if names is None:
        import ast
        import pathlib

        tree = ast.parse((pathlib.Path(__file__).parent / f"{stage}.py").read_text(encoding="utf-8"))
        found: set[str] = set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found.update(t.id for t in targets if isinstance(t, ast.Name))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                found.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        names = _STAGE_NAMES[stage] = frozenset(found)
    return names


_STAGE_NAMES: dict[str, frozenset[str]] = {}


def compiled(
    fn: Callable[..., Any] | None = None,
    *,
    cache_size: int = DEFAULT_CACHE_SIZE,
    strict: bool = False,
    static_argnums: int | Sequence[int] = (),
) -> Any:
    """``fn`` traced once per input structure and replayed as numpy kernels: forward and backward.

    ``fn(*args)`` returns the loss ``Value`` (or a tuple starting with it); a call returns what ``fn``
    returns and adds ∂loss/∂p to ``p.grad`` for every leaf ``p`` it reached (see the module docstring).
    ``cache_size``: programs kept (one per input structure; one more is an error). ``strict``: a
    number read out of a traced Value raises ``TraceError`` instead of warning. ``static_argnums``:
    positions of arguments that are not data (hashable; their values are part of the cache key).
    Usable as a decorator, with or without arguments.

    >>> step = compiled(lambda x: (x * x).tanh())     # doctest: +SKIP
    >>> step(0.5).data                                 # tanh(0.25), traced
    """
    _numpy()
    if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
        raise ValueError(f"compiled: cache_size must be a positive int, got {cache_size!r}")
    if strict not in (True, False):
        raise ValueError(f"compiled: strict must be True or False, got {strict!r}")
    positions = (static_argnums,) if isinstance(static_argnums, int) else static_argnums
    try:
        static = frozenset(positions)
    except TypeError:
        raise TypeError(f"compiled: static_argnums must be an int or a list of ints, got {static_argnums!r}") from None
    if any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in static):
        raise ValueError(f"compiled: static_argnums must hold ints >= 0, got {static_argnums!r}")

    from .function import Compiled  # the stages that compute, with numpy

    def wrap(f: Callable[..., Any]) -> Compiled:
        if not callable(f):
            raise TypeError(f"compiled: fn must be callable, got {_a(f)}")
        return Compiled(f, cache_size, bool(strict), static)

    return wrap if fn is None else wrap(fn)
