"""Recording modes: what happens to a node as it is made — ``no_grad``, ``scope``, ``auto_scope``.

The engine asks one question per new node: is any mode on in any thread (``modes.active``,
one global number)? Only then does it call ``record(node)``, which applies this thread's
modes: inside ``no_grad()`` the node keeps no parents (a leaf); inside ``scope(name)`` or
``auto_scope()`` it remembers the group it was made in (``node.scope``); and
``autograd.compile``'s tracers see it. A mode is per thread: other threads keep theirs.

Derivatives are evaluated in *limit arithmetic* (``limits()``): an operation at a point
where it has no value (``1/0``, ``log 0``) returns the limit (±inf, nan) instead of raising,
so a derivative at a singular point is ±inf or nan, never an error.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_state = threading.local()
active = 0  # how many threads have a mode on (no_grad, a scope, auto_scope, a tracer)
_active_lock = threading.Lock()


class _Modes:
    """One thread's modes."""

    __slots__ = ("no_grad", "scopes", "auto", "tracers")

    def __init__(self) -> None:
        self.no_grad = 0
        self.scopes: list[Scope] = []
        self.auto: list[_AutoScope] = []
        self.tracers: list[Any] = []

    def on(self) -> bool:
        return bool(self.no_grad or self.scopes or self.auto or self.tracers)


def this_thread() -> _Modes:
    """The calling thread's modes."""
    modes = getattr(_state, "modes", None)
    if modes is None:
        modes = _state.modes = _Modes()
    return modes


def change(apply: Callable[[_Modes], None]) -> None:
    """Apply a change to this thread's modes, keeping ``active`` (threads with a mode on) exact."""
    global active
    modes = this_thread()
    before = modes.on()
    apply(modes)
    after = modes.on()
    if before != after:
        with _active_lock:
            active += 1 if after else -1
            for listener in listeners:
                listener(active)


# Called with the new ``active`` whenever it changes: the accelerator keeps a copy in its
# own globals, so its inlined operations test one global, as the reference tests ``active``.
listeners: list[Callable[[int], None]] = []


def record(node: Any) -> None:
    """Apply this thread's modes to a node just made: no_grad, scopes, tracers."""
    modes = this_thread()
    if modes.no_grad:
        node._make_leaf()
    if modes.scopes or modes.auto:
        node._scope = current_scope()
    for tracer in modes.tracers:
        tracer.created(node)


def note_read(node: Any) -> None:
    """A node's number was read (``.data``, or a comparison) while a mode is on: compile's tracers see it."""
    for tracer in this_thread().tracers:
        tracer.read(node)


# --------------------------------------------------------------------------- limit arithmetic


class limits:
    """While derivatives are evaluated, an operation with no value returns its limit instead of raising."""

    def __enter__(self) -> None:
        _state.limits = getattr(_state, "limits", 0) + 1

    def __exit__(self, *exc: object) -> None:
        _state.limits -= 1


def in_limits() -> bool:
    """True while derivatives are being evaluated (see ``limits``)."""
    return bool(getattr(_state, "limits", 0))


# --------------------------------------------------------------------------- no_grad


class _ContextDecorator:
    """A context manager that also decorates functions and generator functions."""

    def __enter__(self) -> Any:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __exit__(self, *exc: object) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __call__(self, fn: F) -> F:
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def generator(*args: Any, **kwargs: Any) -> Any:
                # the mode is on while the generator's body runs, not while its caller's does
                gen = fn(*args, **kwargs)
                try:
                    with self:
                        value = next(gen)
                    while True:
                        try:
                            sent = yield value
                        except GeneratorExit:
                            with self:
                                gen.close()
                            raise
                        except BaseException as error:
                            with self:
                                value = gen.throw(error)
                        else:
                            with self:
                                value = gen.send(sent)
                except StopIteration as stop:
                    return stop.value

            return generator  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return wrapped  # type: ignore[return-value]


def is_grad_enabled() -> bool:
    """True unless the calling thread is inside a ``no_grad()`` block."""
    return not (active and this_thread().no_grad)


class no_grad(_ContextDecorator):
    """Context manager (and decorator): values computed inside record no parents.

    >>> with no_grad():
    ...     y = Value(2.0) * 3      # y is a leaf: nothing to backpropagate through  # doctest: +SKIP

    The switch is per thread: other threads keep recording their graphs.
    """

    def __enter__(self) -> no_grad:
        change(lambda modes: setattr(modes, "no_grad", modes.no_grad + 1))
        return self

    def __exit__(self, *exc: object) -> None:
        change(lambda modes: setattr(modes, "no_grad", modes.no_grad - 1))


# --------------------------------------------------------------------------- scopes


class Scope:
    """A named group of nodes: one entry into ``scope(name)`` or one call seen by ``auto_scope()``.

    ``name`` is its name, ``parent`` the scope it was opened in (or None); ``path`` the names
    from the outermost scope in, and ``str(scope)`` the path joined by "/" (``"gpt/rmsnorm"``).
    Each entry is a new ``Scope``: two calls of one function make two groups of the same name.
    """

    __slots__ = ("name", "parent")

    def __init__(self, name: str, parent: Scope | None = None):
        if not isinstance(name, str) or not name:
            raise TypeError(f"a scope needs a non-empty name string, got {name!r}")
        self.name = name
        self.parent = parent

    @property
    def path(self) -> tuple[str, ...]:
        """The names from the outermost scope to this one."""
        names = []
        scope: Scope | None = self
        while scope is not None:
            names.append(scope.name)
            scope = scope.parent
        return tuple(reversed(names))

    def __str__(self) -> str:
        return "/".join(self.path)

    def __repr__(self) -> str:
        return f"Scope({str(self)!r})"


class scope(_ContextDecorator):
    """Context manager (and decorator): nodes made inside belong to the group ``name``.

    >>> with scope("attention"):
    ...     score = q * k            # score.scope.name == "attention"   # doctest: +SKIP

    Scopes nest (``score.scope.path == ("block", "attention")``); drawings can show a group
    as one box and open it on demand.
    """

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise TypeError(f"scope() needs a non-empty name string, got {name!r}")
        self.name = name
        self._opened: list[Scope] = []

    def __enter__(self) -> Scope:
        opened = Scope(self.name, current_scope())
        self._opened.append(opened)
        change(lambda modes: modes.scopes.append(opened))
        return opened

    def __exit__(self, *exc: object) -> None:
        opened = self._opened.pop()
        change(lambda modes: modes.scopes.remove(opened))


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class _AutoScope:
    """One ``auto_scope()`` block: its frame, and the calls below it seen last with their scopes."""

    __slots__ = ("base", "frames", "scopes")

    def __init__(self, base: Any):
        self.base = base
        self.frames: list[Any] = []  # the user-level call frames seen last, outermost first
        self.scopes: list[Scope] = []  # one scope per frame

    def current(self) -> Scope | None:
        """The scope of the innermost user-level call now running below the block's frame."""
        frames = []
        frame: Any = sys._getframe(1)
        while frame is not None and frame is not self.base:
            code = frame.f_code
            if not code.co_name.startswith("<") and not code.co_filename.startswith(_PACKAGE_DIR):
                frames.append(frame)
            frame = frame.f_back
        if frame is None:  # not below the block's frame (another thread, or a callback)
            return None
        frames.reverse()
        # Calls still running keep their scope (frames are compared by identity; holding the
        # frames of the current chain means a new call can never be mistaken for an old one).
        keep = 0
        while keep < min(len(frames), len(self.frames)) and frames[keep] is self.frames[keep]:
            keep += 1
        del self.frames[keep:], self.scopes[keep:]
        for frame in frames[keep:]:
            self.frames.append(frame)
            self.scopes.append(Scope(_call_name(frame), self.scopes[-1] if self.scopes else None))
        return self.scopes[-1] if self.scopes else None


def _call_name(frame: Any) -> str:
    """A method call is named after its object's class (``MLP``), a function call after the function."""
    code = frame.f_code
    if code.co_argcount and code.co_varnames[0] == "self":
        owner = frame.f_locals.get("self")
        if owner is not None:
            return type(owner).__name__
    return code.co_name  # type: ignore[no-any-return]


class auto_scope(_ContextDecorator):
    """Context manager: nodes are grouped by the user-level calls that made them.

    Each call between this block and an operation adds one level, named after the class of
    ``self`` for a method (``MLP``, ``Layer``, ``Neuron``) or after the function (``gpt``,
    ``rmsnorm``, ``softmax``), so unchanged micrograd or microgpt code gets groups such as
    ``MLP/Layer/Neuron``. Frames inside ``autograd`` and comprehensions are skipped.

    >>> with auto_scope():
    ...     loss = model_loss(model, X, y)     # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._opened: list[_AutoScope] = []

    def __enter__(self) -> auto_scope:
        opened = _AutoScope(sys._getframe(1))
        self._opened.append(opened)
        change(lambda modes: modes.auto.append(opened))
        return self

    def __exit__(self, *exc: object) -> None:
        opened = self._opened.pop()
        opened.frames.clear()  # the frames it held (their locals) can go
        change(lambda modes: modes.auto.remove(opened))


def current_scope() -> Scope | None:
    """The scope a node made now belongs to: the innermost ``scope()``, else ``auto_scope()``'s call."""
    if not active:
        return None
    modes = this_thread()
    if modes.scopes:
        return modes.scopes[-1]
    if modes.auto:
        return modes.auto[-1].current()
    return None
