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
from collections.abc import Mapping, Sequence
from typing import Any

from autograd.engine import Value, dot
from autograd.files import write_atomically

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")
INITS = ("micrograd", "xavier", "he")
FORMAT = "stepgrad-state"
VERSION = 1
_MAX_FILE_BYTES = 256 * 1024 * 1024


def _check_activation(activation: object, where: str) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"{where}: unknown activation {activation!r}; valid activations are {', '.join(ACTIVATIONS)}")
    return activation  # type: ignore[return-value]


def _check_size(value: object, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive int, got {value!r}")
    return value


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
        non-number (strings, bools, None) or non-finite entries raise one ValueError naming them all,
        and the model stays untouched.
        """
        if not isinstance(state, Mapping):
            raise ValueError(f"load_state_dict: state must be a dict of name -> number, got {type(state).__name__}")
        named = self.named_parameters()
        expected = [name for name, _ in named]
        expected_set = set(expected)
        problems = []
        missing = [name for name in expected if name not in state]
        if missing:
            problems.append(f"missing {_listing(missing)}")
        unexpected = [repr(k) for k in state if k not in expected_set]
        if unexpected:
            problems.append(f"unexpected {', '.join(unexpected[:10])}{' ...' if len(unexpected) > 10 else ''}")
        bad = []
        for name in expected:
            if name in state:
                value = state[name]
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    bad.append(f"{name}={value!r} (not a number)")
                elif not math.isfinite(value):
                    bad.append(f"{name}={value!r} (not finite)")
        if bad:
            problems.append(f"bad values {', '.join(bad[:10])}{' ...' if len(bad) > 10 else ''}")
        if problems:
            raise ValueError(f"load_state_dict: {'; '.join(problems)}; the model was not changed")
        for name, p in named:
            p.data = float(state[name])

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

        A corrupt, truncated, foreign or hand-edited file, or one for another architecture,
        raises ValueError naming the file and the problem; the model is then unchanged.
        """
        envelope = read_state_file(path)
        path = os.fspath(path)
        mine = self.architecture()
        theirs = envelope["architecture"]
        if mine is not None and theirs is not None and theirs != mine:
            raise ValueError(
                f"load: {path!r} holds a model of architecture {theirs}, but this model is {mine}; "
                "the model was not changed"
            )
        try:
            self.load_state_dict(envelope["parameters"])
        except ValueError as e:
            raise ValueError(f"load: {path!r}: {e}") from None


def _listing(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" ... ({len(names)} in all)" if len(names) > limit else "")


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
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def read_state_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a file written by ``Module.save``: the envelope dict, or ValueError naming the problem.

    Never unpickles or evaluates anything: plain JSON, NaN/Infinity and duplicate keys refused.
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        if size > _MAX_FILE_BYTES:
            raise ValueError(f"file is {size} bytes, more than the {_MAX_FILE_BYTES} a state file may have")
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"load: cannot read {path!r}: {e}") from None
    try:
        envelope = json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except ValueError as e:  # json.JSONDecodeError is a ValueError
        raise ValueError(
            f"load: {path!r} is not a valid stepgrad state file (corrupt or truncated JSON: {e})"
        ) from None
    if not isinstance(envelope, dict) or envelope.get("format") != FORMAT:
        raise ValueError(f"load: {path!r} is not a stepgrad state file (expected format {FORMAT!r})")
    if envelope.get("version") != VERSION:
        raise ValueError(
            f"load: {path!r} has version {envelope.get('version')!r}; this stepgrad reads version {VERSION}"
        )
    unknown = sorted(set(envelope) - {"format", "version", "architecture", "parameters"})
    if unknown:
        raise ValueError(f"load: {path!r} has unexpected keys {unknown}")
    if not isinstance(envelope.get("parameters"), dict):
        raise ValueError(f"load: {path!r} has no 'parameters' object")
    arch = envelope.get("architecture")
    if arch is not None and not isinstance(arch, dict):
        raise ValueError(f"load: {path!r} has an 'architecture' that is not an object: {arch!r}")
    return envelope


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
    raise ValueError(f"unknown init {init!r}; valid inits are {', '.join(INITS)}")


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
        _check_size(nin, "nin", "Neuron")
        if activation is None:
            activation = "relu" if nonlin else "linear"
        self.activation = _check_activation(activation, "Neuron")
        if init not in INITS:
            raise ValueError(f"Neuron: unknown init {init!r}; valid inits are {', '.join(INITS)}")
        if rng is not None and not isinstance(rng, random.Random):
            raise ValueError(f"Neuron: rng must be a random.Random, got {type(rng).__name__}")
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
        _check_size(nin, "nin", "Layer")
        _check_size(nout, "nout", "Layer")
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
        _check_size(nin, "nin", "MLP")
        if isinstance(nouts, (str, bytes)) or not isinstance(nouts, Sequence) or len(nouts) == 0:
            raise ValueError(f"MLP: nouts must be a non-empty list of layer sizes, got {nouts!r}")
        for i, n in enumerate(nouts):
            _check_size(n, f"nouts[{i}]", "MLP")
        hidden = len(nouts) - 1
        if isinstance(activation, str):
            activations = [activation] * hidden
        else:
            activations = list(activation)
            if len(activations) != hidden:
                raise ValueError(f"MLP: activation lists {len(activations)} names but there are {hidden} hidden layers")
        activations.append(output_activation)
        for a in activations:
            _check_activation(a, "MLP")
        if init not in INITS:
            raise ValueError(f"MLP: unknown init {init!r}; valid inits are {', '.join(INITS)}")
        if seed is not None and rng is not None:
            raise ValueError("MLP: give seed or rng, not both")
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int):
                raise ValueError(f"MLP: seed must be an int, got {seed!r}")
            rng = random.Random(seed)
        options: dict[str, Any] = {}
        if init != "micrograd":
            options["init"] = init
        if rng is not None:
            options["rng"] = rng
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], activation=activations[i], **options) for i in range(len(nouts))]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
            if isinstance(x, Value):  # a one-neuron hidden layer feeds the next layer a list of one
                x = [x]
        return x[0] if len(x) == 1 else x

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

        Does not touch the global ``random`` state.
        """
        envelope = read_state_file(path)
        arch = envelope["architecture"]
        path = os.fspath(path)
        try:
            if (
                not isinstance(arch, dict)
                or arch.get("type") != "MLP"
                or set(arch)
                != {
                    "type",
                    "nin",
                    "nouts",
                    "activations",
                }
            ):
                raise ValueError("its architecture is not an MLP description")
            activations = arch["activations"]
            if not isinstance(activations, list) or not activations:
                raise ValueError(f"bad activations {activations!r}")
            nouts = arch["nouts"]
            if not isinstance(nouts, list) or len(nouts) != len(activations):
                raise ValueError(f"nouts {nouts!r} do not match activations {activations!r}")
            model = cls(
                arch["nin"],
                nouts,
                activation=activations[:-1],
                output_activation=activations[-1],
                rng=random.Random(0),
            )
            model.load_state_dict(envelope["parameters"])
        except (ValueError, TypeError) as e:
            raise ValueError(f"MLP.from_file: {path!r}: {e}") from None
        return model

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
