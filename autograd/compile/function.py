"""Compile, stage 5: the compiled function. ``Compiled`` keeps one program per input structure: a call
with a new structure traces ``fn`` (eagerly, watched) and schedules a program; a call with a known one
replays it. ``gradients`` replays with the parameters' numbers taken from an array.
"""

from __future__ import annotations

import functools
import gc
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .. import modes
from ..engine import Value
from . import checks
from .arrays import _numpy
from .program import Program
from .schedule import _schedule
from .trace import (
    MAX_DEPTH,
    TraceError,
    TracerWarning,
    _build_arguments,
    _describe,
    _flatten_arguments,
    _returned_values,
    _Tracer,
    _user_frame,
)

np: Any = _numpy()  # this module is imported by compiled(), after numpy


class Compiled:
    """A function traced once per input structure and replayed as numpy kernels (see ``compiled``).

    ``fn`` is the function; ``programs`` the cached programs (``stats``, ``kernels()``, ``draw()``);
    ``traces`` and ``replays`` count the calls of each kind; ``clear()`` empties the cache.
    """

    def __init__(self, fn: Callable[..., Any], cache_size: int, strict: bool, static_argnums: frozenset[int]):
        self.fn = fn
        self.cache_size = cache_size
        self.strict = strict
        self.static_argnums = static_argnums
        self._programs: dict[tuple[Any, ...], Program] = {}
        self._warned: set[tuple[str, int]] = set()
        self._indices: dict[int, tuple[list[Value], Any]] = {}  # program id -> (a copy of params, positions)
        self.traces = 0
        self.replays = 0
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"compiled({name}, {len(self._programs)} of {self.cache_size} programs)"

    @property
    def programs(self) -> list[Program]:
        """The cached programs, in the order they were traced."""
        return list(self._programs.values())

    def clear(self) -> None:
        """Forget every program: the next call of each structure traces again."""
        self._programs.clear()
        self._indices.clear()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """fn(*args), traced or replayed: what fn returns (a replay: new leaves for Values computed inside)."""
        if kwargs:
            raise TypeError(
                f"compiled: pass arguments by position; got keyword argument(s) {', '.join(sorted(kwargs))}"
            )
        if modes.active and modes.this_thread().tracers:
            raise TraceError(
                f"compiled: {self!r} was called while another compiled function is being traced: compile the "
                "outer function only (its trace records everything the inner one computes)"
            )
        key, numbers_, values = _flatten_arguments(args, self.static_argnums)
        program = self._programs.get(key)
        if program is not None:
            self.replays += 1
            return program.run(numbers_, values)
        if len(self._programs) >= self.cache_size:
            raise ValueError(
                f"compiled: a call with a new input structure, but the cache already holds {len(self._programs)} "
                f"programs (cache_size={self.cache_size}): pass a larger cache_size, or give the function fewer "
                "distinct structures (e.g. pad inputs to a fixed length); nothing was computed"
            )
        return self._trace(key, args, len(numbers_), values)

    def gradients(self, params: Sequence[Value], data: Any, *args: Any) -> tuple[float, Any]:
        """``fn(*args)``'s loss and ∂loss/∂params as a numpy array, the parameters' numbers taken from the
        array ``data`` (one per ``params``, in order) rather than from their ``.data``.

        For a training loop that keeps its parameters in an array (e.g. ``Adam.step_arrays``): a replay
        reads and writes no parameter's ``.data`` or ``.grad``. The first call of a structure is traced
        as a call is, eagerly on the Values: it sets their ``.data`` from ``data`` first and leaves every
        ``.grad`` at 0. Every leaf the function reads from outside must be in ``params``.
        """
        if modes.active and modes.this_thread().tracers:
            raise TraceError(f"compiled: {self!r}.gradients was called while another compiled function is traced")
        if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
            _check_params(params)  # raises: names what params is
        data = checks.numbers_array(data, "compiled: gradients(params, data, ...): data")
        if data.shape != (len(params),):
            raise ValueError(
                f"compiled: gradients(params, data, ...) needs a list of Values and an array of one number per "
                f"Value; got {len(params)} params and data of shape {data.shape}"
            )
        key, numbers_, values = _flatten_arguments(args, self.static_argnums)
        program = self._programs.get(key)
        if program is None:
            _check_params(params)
            for p, x in zip(params, data.tolist()):
                p.data = x
                p.grad = 0.0
            result = self(*args)
            grads = np.fromiter((p.grad for p in params), float, len(params))
            for p in params:
                p.grad = 0.0
            self._index_of(self._programs[key], params)  # every leaf it reads is a parameter
            return float(_returned_values(result)[0].data), grads
        index = self._index_of(program, params)
        self.replays += 1
        loss, part = program.run_arrays(numbers_, values, data[index])
        grads = np.zeros(len(params))
        grads[index] = part  # each parameter once in a program's leaves
        return loss, grads

    def _index_of(self, program: Program, params: Sequence[Value]) -> Any:
        """Where each of ``program.params`` is in ``params`` (cached for a list of the same Values in the
        same order: a list reordered in place is indexed again)."""
        cached = self._indices.get(id(program))
        if cached is not None and cached[0] == (params if type(params) is list else list(params)):
            return cached[1]  # list equality of Values is identity, item by item (fast in C)
        _check_params(params)
        where = {id(p): i for i, p in enumerate(params)}
        missing = [p for p in program.params if id(p) not in where]
        if missing:
            raise ValueError(
                f"compiled: gradients(params, ...): the function reads {len(missing)} leaf Value(s) made outside it "
                f"that are not in params, e.g. {_describe(missing[0])}: pass every parameter it reads"
            )
        index = np.array([where[id(p)] for p in program.params], dtype=np.intp)
        self._indices[id(program)] = (list(params), index)
        return index

    def _trace(self, key: tuple[Any, ...], args: tuple[Any, ...], number_count: int, values: list[Value]) -> Any:
        """The first call for a structure: run fn eagerly on Values, watched; backward; schedule a program."""
        call_args, inputs, stand_ins = _build_arguments(args, self.static_argnums, values)
        tracer = _Tracer(self, inputs, stand_ins)
        t0 = time.perf_counter()
        modes.change(lambda m: m.tracers.append(tracer))
        try:
            result = self.fn(*call_args)
        finally:
            modes.change(lambda m: m.tracers.remove(tracer))
        loss, returned, shape = _returned_values(result)
        loss.backward()
        for v, stand_in in zip(values, stand_ins):  # the eager call's gradients reach the arguments
            if stand_in.grad:
                v.grad += stand_in.grad
        t1 = time.perf_counter()
        collecting = gc.isenabled()
        gc.disable()  # scheduling allocates many small objects while the whole traced graph is alive:
        try:  # without this, CPython's cyclic collector walks that graph again and again
            program = _schedule(returned, loss, tracer, number_count, stand_ins)
        finally:
            if collecting:
                gc.enable()
        program.shape = shape
        program.stats.trace_seconds = t1 - t0
        program.stats.schedule_seconds = time.perf_counter() - t1
        self._programs[key] = program
        self.traces += 1
        return checks.swapped(result, {id(s): v for v, s in zip(values, stand_ins)}, MAX_DEPTH) if values else result

    def _frozen(self, what: str, node: Value) -> None:
        """A number was read out of a traced Value: warn once per line, or raise under strict=True."""
        filename, line, module = _user_frame()
        message = (
            f"{filename}:{line} reads the number inside {what} ({_describe(node)}; by .data, a comparison, "
            "repr/str/format or .local_grads) "
            "while autograd.compiled traces it. That number is frozen into the compiled program: every later "
            "call reuses its trace-time value, and so does any Python decision made with it (as with JAX's jit "
            "and torch.jit.trace). It is harmless only where the result does not depend on that number; "
            "otherwise compute with the Values themselves (e.g. autograd.maximum(*z), not max(v.data for v in "
            "z)). strict=True makes this an error."
        )
        if self.strict:
            raise TraceError(message)
        if (filename, line) not in self._warned:
            self._warned.add((filename, line))
            warnings.warn_explicit(message, TracerWarning, filename, line, module=module)


def _check_params(params: Sequence[Value]) -> None:
    checks.check_params(params, "compiled: gradients(params, data, ...)")
