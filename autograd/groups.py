"""Grouped views of big graphs: the old import path ``autograd.groups``, kept so earlier code works.

The code lives in ``autograd.views.groups``.
A new view goes in ``autograd/views/`` (see ``autograd.views``); new code imports from there.
"""

from typing import Any

from . import views
from .views.groups import BUDGET as BUDGET
from .views.groups import OUTSIDE as OUTSIDE
from .views.groups import Group as Group
from .views.groups import Grouping as Grouping
from .views.groups import has_scopes as has_scopes
from .views.groups import scope_of as scope_of

__all__ = ["Group", "Grouping", "has_scopes", "scope_of"]


def __getattr__(name: str) -> Any:
    """Any other name ``autograd.groups`` had, from its new home (a pickle of steps names private classes here)."""
    return views.moved(__name__, name, ("groups",))
