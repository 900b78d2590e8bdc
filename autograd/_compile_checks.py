"""Moved to ``autograd.compile.checks``: this name stays importable (a re-export)."""

from .compile.checks import (  # noqa: F401
    careful_forward,
    check_params,
    eager_forward,
    numbers_array,
    rule_on_arrays,
    same_numbers,
    stand_in,
    swapped,
    unused_that_can_fail,
)
