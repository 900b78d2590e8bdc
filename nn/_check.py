"""Argument checks: the one way ``nn`` refuses a bad argument.

A wrong type raises ``TypeError``, a wrong value ``ValueError``; both name the function, the
argument, what it must be and what it got (shortened, so a huge argument gives a short message):

    MLP: nin must be a positive int, got str 'two'        (TypeError)
    MLP: nin must be a positive int, got 0                (ValueError)
    fit: lr_schedule(3) must be a finite number > 0, got -5.0
"""

from __future__ import annotations

import math
import numbers
import random
import reprlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from autograd.engine import Value

T = TypeVar("T")

_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 6
_SHORT.maxlevel = 3


def shown(value: object) -> str:
    """``repr(value)`` cut to about 80 characters (a 10⁶-element list or a 400-digit int stays one short line)."""
    return _SHORT.repr(value)


def _got(value: object, with_type: bool) -> str:
    if with_type and value is not None and not isinstance(value, bool):
        return f"{type(value).__name__} {shown(value)}"
    return shown(value)


def wrong_type(where: str, name: str, requirement: str, value: object) -> TypeError:
    """``TypeError("{where}: {name} must be {requirement}, got {type} {value}")``."""
    return TypeError(f"{where}: {name} must be {requirement}, got {_got(value, True)}")


def wrong_value(where: str, name: str, requirement: str, value: object) -> ValueError:
    """``ValueError("{where}: {name} must be {requirement}, got {value}")``."""
    return ValueError(f"{where}: {name} must be {requirement}, got {_got(value, False)}")


def check_int(value: object, name: str, where: str, *, at_least: int | None = 1, requirement: str = "") -> int:
    """``value`` if it is an int (not a bool) ≥ ``at_least`` (None: any int)."""
    if not requirement:
        if at_least is None:
            requirement = "an int"
        else:
            requirement = "a positive int" if at_least == 1 else f"an int >= {at_least}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(where, name, requirement, value)
    if at_least is not None and value < at_least:
        raise wrong_value(where, name, requirement, value)
    return value


def check_index(
    value: object, name: str, where: str, low: int, high: int, *, note: str = "", closed: bool = False
) -> int:
    """``value`` if it is an int (not a bool) in [low, high) — or [low, high] if ``closed`` — e.g. "an int in
    [0, 16) (block_size)", with ``note`` after the interval."""
    interval = f"[{low}, {high}]" if closed else f"[{low}, {high})"
    requirement = f"an int in {interval}" + (f" {note}" if note else "")
    number = check_int(value, name, where, at_least=None, requirement=requirement)
    if not (low <= number <= high if closed else low <= number < high):
        raise wrong_value(where, name, requirement, value)
    return number


def check_number(
    value: object,
    name: str,
    where: str,
    *,
    greater_than: float | None = None,
    at_least: float | None = None,
    less_than: float | None = None,
    at_most: float | None = None,
) -> float:
    """``float(value)`` if it is a finite real number (not a bool) within the given bounds."""
    requirement = "a finite number" + _bounds(greater_than, at_least, less_than, at_most)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise wrong_type(where, name, requirement, value)
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        raise wrong_value(where, name, requirement, value) from None
    if (
        not math.isfinite(number)
        or (greater_than is not None and not number > greater_than)
        or (at_least is not None and not number >= at_least)
        or (less_than is not None and not number < less_than)
        or (at_most is not None and not number <= at_most)
    ):
        raise wrong_value(where, name, requirement, value)
    return number


def _bounds(greater_than: float | None, at_least: float | None, less_than: float | None, at_most: float | None) -> str:
    low = ("(", greater_than) if greater_than is not None else ("[", at_least) if at_least is not None else None
    high = (")", less_than) if less_than is not None else ("]", at_most) if at_most is not None else None
    if low is not None and high is not None:
        return f" in {low[0]}{low[1]!r}, {high[1]!r}{high[0]}"
    if low is not None:
        return f" {'>' if low[0] == '(' else '>='} {low[1]!r}"
    if high is not None:
        return f" {'<' if high[0] == ')' else '<='} {high[1]!r}"
    return ""


def check_choice(value: object, name: str, where: str, options: Iterable[str], *, also: str = "") -> str:
    """``value`` if it is one of the strings ``options`` (``also`` names another accepted kind, for the message)."""
    options = tuple(options)
    requirement = "one of " + ", ".join(repr(o) for o in options) + (f" or {also}" if also else "")
    if not isinstance(value, str):
        raise wrong_type(where, name, requirement, value)
    if value not in options:
        raise wrong_value(where, name, requirement, value)
    return value


def check_type(value: object, name: str, where: str, kind: type[T] | tuple[type, ...], what: str) -> T:
    """``value`` if it is an instance of ``kind`` (described as ``what``, e.g. "a random.Random")."""
    if not isinstance(value, kind):
        raise wrong_type(where, name, what, value)
    return value  # type: ignore[return-value]


def check_callable(value: object, name: str, where: str, what: str = "callable") -> Callable[..., Any]:
    """``value`` if it can be called."""
    if not callable(value):
        raise wrong_type(where, name, what, value)
    return value


def check_rng(seed: object, name: str, where: str) -> random.Random:
    """A generator from ``seed``: an int seeds a new one, a ``random.Random`` is used as is, None is fresh."""
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return random.Random()
    return random.Random(check_int(seed, name, where, at_least=None, requirement="an int, a random.Random or None"))


def check_sequence(value: object, name: str, where: str, what: str, *, non_empty: bool = True) -> list[Any]:
    """``list(value)`` for a list-like (not a str or bytes); empty is refused unless ``non_empty=False``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise wrong_type(where, name, what, value)
    if non_empty and len(value) == 0:
        raise wrong_value(where, name, what, value)
    return list(value)


def check_values(values: Iterable[object], name: str, where: str) -> list[Value]:
    """A non-empty list of ``Value``s (e.g. parameters): ``params[2]`` is named if it is not a Value."""
    requirement = "a non-empty list of Values"
    if isinstance(values, (str, bytes, Value)) or not isinstance(values, Iterable):
        raise wrong_type(where, name, requirement, values)
    items = list(values)
    if not items:
        raise wrong_value(where, name, requirement, items)
    for i, item in enumerate(items):
        if not isinstance(item, Value):
            raise wrong_type(where, f"{name}[{i}]", "a Value", item)
    return items  # type: ignore[return-value]
