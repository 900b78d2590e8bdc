"""Modules: things that hold parameters (micrograd's ``Module``, ``Neuron``, ``Layer``, ``MLP``).

The defaults are micrograd's, bit for bit: weights ``uniform(-1, 1)`` from Python's global
``random`` in micrograd's order, bias 0, act = b + w0·x0 + w1·x1 + ..., relu on hidden layers.
Everything new (activations, initializations, names, saving) is keyword-only.
"""

from __future__ import annotations

import json
import math
import os
import random
import stat
from collections.abc import Mapping, Sequence
from typing import Any

from autograd.engine import Value, dot
from autograd.files import kind_of, write_atomically

from ._check import check_choice, check_int, check_sequence, check_type, shown

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
INITS = ("micrograd", "xavier", "he")
FORMAT = "stepgrad-state"
VERSION = 1
_MAX_FILE_BYTES = 256 * 1024 * 1024
_MAX_ARCHITECTURE_DEPTH = 20  # a description nests a few levels; deeper is a corrupt or hostile file


class Module:
    """Base class: ``parameters()`` lists the trainable ``Value``s; ``zero_grad()`` resets their gradients."""

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        """The trainable leaves, in a stable order."""
        return []

    # ---- names and state

    def named_parameters(self) -> list[tuple[str, Value]]:
        """(dotted name, parameter) pairs, e.g. ``("layers.0.neurons.3.w.1", Value)``.

        The base class finds ``Value``s, ``Module``s and lists of them among the attributes,
        in definition order; a module that only overrides ``parameters()`` gets names "0", "1", ...
        """
        named = list(_named_in(vars(self), ""))
        if not named:
            named = [(str(i), p) for i, p in enumerate(self.parameters())]
        return named

    def state_dict(self) -> dict[str, float]:
        """{name: float value} of every parameter (a copy; changing it changes nothing)."""
        return {name: p.data for name, p in self.named_parameters()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set every parameter from ``state`` ({name: number}).

        Every name and value is checked before anything changes: missing, unexpected,
        non-number (strings, bools, None), non-finite or too-large entries raise one ValueError
        naming them all, and the model stays untouched. A ``state`` that is not a dict is a TypeError.
        """
        check_type(state, "state", "load_state_dict", Mapping, "a dict of name -> number")
        named = self.named_parameters()
        expected = [name for name, _ in named]
        expected_set = set(expected)
        problems = []
        missing = [name for name in expected if name not in state]
        if missing:
            problems.append(f"missing {_listing(missing)}")
        unexpected = [k for k in state if k not in expected_set]
        if unexpected:
            problems.append(f"unexpected {_listing(unexpected)}")
        values: dict[str, float] = {}
        bad = []
        for name in expected:
            if name in state:
                value = _parameter(state[name])
                if isinstance(value, str):
                    bad.append(f"{name}={shown(state[name])} ({value})")
                else:
                    values[name] = value
        if bad:
            problems.append(f"bad values {', '.join(bad[:10])}{' ...' if len(bad) > 10 else ''}")
        if problems:
            raise ValueError(f"load_state_dict: {'; '.join(problems)}; the model was not changed")
        for name, p in named:
            p.data = values[name]

    def architecture(self) -> dict[str, Any] | None:
        """A JSON-able description of the shape (None for a module that does not describe itself)."""
        return None

    # ---- files

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the parameters (and architecture) as JSON, atomically: a temporary file, then ``os.replace``.

        ``{"format": "stepgrad-state", "version": 1, "architecture": {...}, "parameters": {name: float}}``.
        A non-finite parameter raises ValueError and writes nothing.
        """
        state = self.state_dict()
        bad = [name for name, v in state.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"save: parameters {_listing(bad)} are not finite; nothing was written to {str(path)!r}")
        envelope = {"format": FORMAT, "version": VERSION, "architecture": self.architecture(), "parameters": state}
        text = json.dumps(envelope, indent=1, allow_nan=False)
        write_atomically(path, text)

    def load(self, path: str | os.PathLike[str]) -> None:
        """Load parameters saved by ``save`` into this model.

        A corrupt, truncated, foreign, hand-edited or hostile file, or one for another architecture,
        raises ValueError naming the file and the problem; the model is then unchanged.
        """
        envelope = read_state_file(path)
        path = os.fspath(path)
        mine = self.architecture()
        theirs = envelope["architecture"]
        if mine is not None and theirs is not None and theirs != mine:
            raise ValueError(
                f"load: {path!r} holds a model of architecture {shown(theirs)}, but this model is {mine}; "
                "the model was not changed"
            )
        try:
            self.load_state_dict(envelope["parameters"])
        except ValueError as e:
            raise ValueError(f"load: {path!r}: {e}") from None


def _parameter(value: object) -> float | str:
    """A state entry as a float, or why it is not one ("not a number", "not finite", ...)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "not a number"
    try:
        number = float(value)
    except OverflowError:  # a 400-digit integer
        return "too large for a float"
    return number if math.isfinite(number) else "not finite"


def _listing(names: Sequence[object], limit: int = 10) -> str:
    text = ", ".join(shown(n) for n in names[:limit])
    return text + (f" ... ({len(names)} in all)" if len(names) > limit else "")


def _named_in(attributes: Mapping[str, Any], prefix: str):
    for key, value in attributes.items():
        if key.startswith("_"):
            continue
        yield from _named_value(value, prefix + key)


def _named_value(value: Any, name: str):
    if isinstance(value, Value):
        yield name, value
    elif isinstance(value, Module):
        for sub, p in value.named_parameters():
            yield f"{name}.{sub}", p
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _named_value(item, f"{name}.{i}")


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed (parameters must be finite numbers)")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {shown(key)}")
        result[key] = value
    return result


def read_state_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a file written by ``Module.save``: the envelope dict, or ValueError naming the file and problem.

    Never unpickles or evaluates anything: plain JSON, NaN/Infinity and duplicate keys refused. Only a
    regular file of at most 256 MB is read (a FIFO, ``/dev/zero`` or a folder is refused without reading),
    and nesting is bounded, so a hostile file costs at most its size in time and memory.
    """
    path = os.fspath(path)
    text = _read_text(path)
    try:
        envelope = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except RecursionError:
        raise ValueError(f"load: {path!r} is not a valid stepgrad state file (JSON nested too deeply)") from None
    except ValueError as e:  # json.JSONDecodeError is a ValueError; so is an integer of over 4300 digits
        raise ValueError(
            f"load: {path!r} is not a valid stepgrad state file (corrupt or truncated JSON: {e})"
        ) from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise ValueError(f"load: {path!r} is not a stepgrad state file (expected format {FORMAT!r})")
    version = envelope.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version != VERSION:
        raise ValueError(f"load: {path!r} has version {shown(version)}; this stepgrad reads version {VERSION}")
    unknown = sorted(set(envelope) - {"format", "version", "architecture", "parameters"})
    if unknown:
        raise ValueError(f"load: {path!r} has unexpected keys {_listing(unknown)}")
    if "architecture" not in envelope:
        raise ValueError(f"load: {path!r} has no 'architecture' entry (save writes one, null if the module has none)")
    if not isinstance(envelope.get("parameters"), dict):
        raise ValueError(f"load: {path!r} has no 'parameters' object")
    arch = envelope.get("architecture")
    if arch is not None and not isinstance(arch, dict):
        raise ValueError(f"load: {path!r} has an 'architecture' that is not an object: {shown(arch)}")
    if not _nested_at_most(arch, _MAX_ARCHITECTURE_DEPTH):
        raise ValueError(f"load: {path!r} has an 'architecture' nested more than {_MAX_ARCHITECTURE_DEPTH} deep")
    return envelope


def _read_text(path: str) -> str:
    """The file's text, read only if it is a regular file of at most _MAX_FILE_BYTES; else ValueError."""
    try:
        _check_regular(path, os.stat(path))  # before opening: opening a FIFO or a tape has effects
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
        fd = os.open(path, flags)  # non-blocking: a FIFO swapped in after the stat cannot hang us
        try:
            _check_regular(path, os.fstat(fd))  # what we opened, not what the name meant a moment ago
            raw = _read_at_most(fd, _MAX_FILE_BYTES + 1)  # whatever size the file claims (/proc files claim 0)
        finally:
            os.close(fd)
    except OSError as e:
        raise ValueError(f"load: cannot read {path!r}: {e.strerror or e}") from None
    if len(raw) > _MAX_FILE_BYTES:
        raise _too_large(path, None)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"load: {path!r} is not a valid stepgrad state file (not UTF-8 text: {e})") from None


def _read_at_most(fd: int, limit: int) -> bytes:
    """Up to ``limit`` bytes, in chunks: memory follows what the file holds, not the limit."""
    chunks = []
    total = 0
    while total < limit:
        chunk = os.read(fd, min(1 << 16, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _check_regular(path: str, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"load: {path!r} is {kind_of(info.st_mode)}, not a regular file; a state file is one")
    if info.st_size > _MAX_FILE_BYTES:
        raise _too_large(path, info.st_size)


def _too_large(path: str, size: int | None) -> ValueError:
    """``size`` None: we stopped reading at the limit (a file whose size the system does not report)."""
    has = f"is {size} bytes," if size is not None else "has"
    return ValueError(f"load: {path!r} {has} more than the {_MAX_FILE_BYTES} bytes a state file may have")


def _nested_at_most(value: object, depth: int) -> bool:
    """True if ``value`` nests lists/dicts at most ``depth`` deep (iterative: no recursion on hostile input)."""
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            if level >= depth:
                return False
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return True


# --------------------------------------------------------------------------- initialization


def _weights(nin: int, init: str, rng: random.Random | None, fan_out: int) -> list[Value]:
    """Initial weights; "micrograd" draws uniform(-1, 1) in micrograd's order from ``rng`` (else global random)."""
    r = random if rng is None else rng
    if init == "micrograd":
        return [Value(r.uniform(-1, 1)) for _ in range(nin)]
    if init == "xavier":  # Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out))
        a = math.sqrt(6.0 / (nin + fan_out))
        return [Value(r.uniform(-a, a)) for _ in range(nin)]
    if init == "he":  # He normal: N(0, 2 / fan_in)
        s = math.sqrt(2.0 / nin)
        return [Value(r.gauss(0.0, s)) for _ in range(nin)]
    raise AssertionError(f"unreachable: init {init!r} was checked by the caller")


_NEURON_NAMES = {"relu": "ReLU", "linear": "Linear", "tanh": "Tanh", "sigmoid": "Sigmoid"}


class Neuron(Module):
    """One neuron: f(b + Σ wᵢxᵢ) with f = relu (micrograd's default), tanh, sigmoid or linear.

    ``nonlin=False`` means linear, as in micrograd; ``activation=`` overrides ``nonlin``.
    Weights are drawn ``uniform(-1, 1)`` from Python's global ``random`` (or ``rng``) and the bias
    is 0, as in micrograd, so ``random.seed(1337)`` reproduces micrograd's weights exactly.

    >>> n = Neuron(2, activation="tanh", init="xavier", rng=random.Random(0))
    >>> n([1.0, 2.0]).data  # tanh(b + w0·1 + w1·2)  # doctest: +SKIP
    """

    def __init__(
        self,
        nin: int,
        nonlin: bool = True,
        *,
        activation: str | None = None,
        init: str = "micrograd",
        rng: random.Random | None = None,
        fan_out: int = 1,
    ):
        check_int(nin, "nin", "Neuron")
        if activation is None:
            activation = "relu" if nonlin else "linear"
        self.activation = check_choice(activation, "activation", "Neuron", ACTIVATIONS)
        check_choice(init, "init", "Neuron", INITS)
        if rng is not None:
            check_type(rng, "rng", "Neuron", random.Random, "a random.Random or None")
        check_int(fan_out, "fan_out", "Neuron")
        self.w = _weights(nin, init, rng, fan_out)
        self.b = Value(0.0)

    @property
    def nonlin(self) -> bool:
        """True unless the neuron is linear (micrograd's flag)."""
        return self.activation != "linear"

    @nonlin.setter
    def nonlin(self, value: bool) -> None:
        self.activation = "relu" if value else "linear"

    def __call__(self, x: Sequence[Value | float]) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"{self!r}: expected {len(self.w)} inputs, got {len(x)}")
        act = dot(self.w, x, self.b)  # b + Σ wᵢxᵢ: micrograd's floats, one n-ary + node instead of a chain
        activation = self.activation
        if activation == "relu":
            return act.relu()
        if activation == "linear":
            return act
        return act.tanh() if activation == "tanh" else act.sigmoid()

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``w.0``, ``w.1``, ..., ``b``."""
        return [(f"w.{i}", w) for i, w in enumerate(self.w)] + [("b", self.b)]

    def architecture(self) -> dict[str, Any]:
        return {"type": "Neuron", "nin": len(self.w), "activation": self.activation}

    def __repr__(self) -> str:
        return f"{_NEURON_NAMES[self.activation]}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; one output comes back unwrapped.

    Keyword arguments go to every ``Neuron`` (``nonlin``, ``activation``, ``init``, ``rng``).
    """

    def __init__(self, nin: int, nout: int, **kwargs: Any):
        check_int(nin, "nin", "Layer")
        check_int(nout, "nout", "Layer")
        if kwargs.get("init", "micrograd") == "xavier":
            kwargs.setdefault("fan_out", nout)
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``neurons.3.w.1``, ``neurons.3.b``, ..."""
        return [(f"neurons.{i}.{name}", p) for i, n in enumerate(self.neurons) for name, p in n.named_parameters()]

    def architecture(self) -> dict[str, Any]:
        n = self.neurons[0]
        return {"type": "Layer", "nin": len(n.w), "nout": len(self.neurons), "activation": n.activation}

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multilayer perceptron: relu hidden layers, then a linear output layer (micrograd's ``MLP(nin, nouts)``).

    ``activation`` (a name, or one name per hidden layer) and ``output_activation`` pick the
    nonlinearities; ``init`` is "micrograd", "xavier" or "he"; ``seed`` (an int) or ``rng``
    (a ``random.Random``) draws the weights from a private generator instead of the global ``random``.

    >>> model = MLP(2, [16, 16, 1])                       # micrograd's demo network
    >>> model = MLP(2, [8, 3], activation="tanh", init="xavier", seed=0)
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        *,
        activation: str | Sequence[str] = "relu",
        output_activation: str = "linear",
        init: str = "micrograd",
        seed: int | None = None,
        rng: random.Random | None = None,
    ):
        check_int(nin, "nin", "MLP")
        nouts = check_sequence(nouts, "nouts", "MLP", "a non-empty list of layer sizes")
        for i, n in enumerate(nouts):
            check_int(n, f"nouts[{i}]", "MLP")
        hidden = len(nouts) - 1
        if isinstance(activation, str):
            activations = [check_choice(activation, "activation", "MLP", ACTIVATIONS)] * hidden
        else:
            activations = check_sequence(activation, "activation", "MLP", "a name or a list of names", non_empty=False)
            if len(activations) != hidden:
                raise ValueError(f"MLP: activation lists {len(activations)} names but there are {hidden} hidden layers")
            for i, a in enumerate(activations):
                check_choice(a, f"activation[{i}]", "MLP", ACTIVATIONS)
        activations.append(check_choice(output_activation, "output_activation", "MLP", ACTIVATIONS))
        check_choice(init, "init", "MLP", INITS)
        if seed is not None and rng is not None:
            raise ValueError("MLP: give seed or rng, not both")
        if rng is not None:
            check_type(rng, "rng", "MLP", random.Random, "a random.Random or None")
        if seed is not None:
            rng = random.Random(check_int(seed, "seed", "MLP", at_least=None))
        options: dict[str, Any] = {}
        if init != "micrograd":
            options["init"] = init
        if rng is not None:
            options["rng"] = rng
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], activation=activations[i], **options) for i in range(len(nouts))]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        values: Sequence[Value | float] = x
        out: list[Value] = []
        for layer in self.layers:
            result = layer(values)
            out = [result] if isinstance(result, Value) else result  # a one-neuron layer feeds a list of one
            values = out
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``layers.0.neurons.3.w.1``, ``layers.0.neurons.3.b``, ..."""
        return [
            (f"layers.{i}.{name}", p) for i, layer in enumerate(self.layers) for name, p in layer.named_parameters()
        ]

    def architecture(self) -> dict[str, Any]:
        first = self.layers[0].neurons[0]
        return {
            "type": "MLP",
            "nin": len(first.w),
            "nouts": [len(layer.neurons) for layer in self.layers],
            "activations": [layer.neurons[0].activation for layer in self.layers],
        }

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> MLP:
        """Rebuild an MLP (architecture and weights) from a file written by ``MLP.save``.

        The architecture is checked against the parameters before anything is built, so a small
        file claiming a huge network is refused at once. Does not touch the global ``random`` state.
        """
        envelope = read_state_file(path)
        path = os.fspath(path)
        try:
            nin, nouts, activations = _mlp_architecture(envelope["architecture"], len(envelope["parameters"]))
            model = cls(
                nin, nouts, activation=activations[:-1], output_activation=activations[-1], rng=random.Random(0)
            )
            model.load_state_dict(envelope["parameters"])
        except (ValueError, TypeError) as e:
            raise ValueError(f"MLP.from_file: {path!r}: {e}") from None
        return model

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


def _mlp_architecture(arch: object, parameter_count: int) -> tuple[int, list[int], list[str]]:
    """(nin, nouts, activations) of an MLP description that accounts for exactly ``parameter_count``
    parameters: Σ (fan_in + 1)·nout over the layers. TypeError/ValueError otherwise, before anything is built."""
    if not isinstance(arch, dict) or arch.get("type") != "MLP" or set(arch) != {"type", "nin", "nouts", "activations"}:
        raise ValueError("its architecture is not an MLP description")
    where = "architecture"
    nin = check_int(arch["nin"], "nin", where)
    nouts = [
        check_int(n, f"nouts[{i}]", where)
        for i, n in enumerate(check_sequence(arch["nouts"], "nouts", where, "a non-empty list of layer sizes"))
    ]
    activations = check_sequence(arch["activations"], "activations", where, "a non-empty list of names")
    if len(nouts) != len(activations):
        raise ValueError(f"nouts {shown(nouts)} do not match activations {shown(activations)}")
    for i, a in enumerate(activations):
        check_choice(a, f"activations[{i}]", where, ACTIVATIONS)
    needed = sum((fan_in + 1) * n for fan_in, n in zip([nin, *nouts], nouts))
    if needed != parameter_count:
        raise ValueError(
            f"its architecture (nin={shown(nin)}, nouts={shown(nouts)}) has {shown(needed)} parameters, "
            f"but the file holds {parameter_count}"
        )
    return nin, nouts, activations
