"""The forward pass step by step, and both passes: the old import path ``autograd.forward``, kept so earlier code works.

The code lives in ``autograd.views.forward`` (the forward steps) and ``autograd.views.stepper`` (the steps).
A new view goes in ``autograd/views/`` (see ``autograd.views``); new code imports from there.
"""

from typing import Any

from . import views
from .views.forward import INFIX as INFIX
from .views.forward import MAX_OPERANDS as MAX_OPERANDS
from .views.forward import ForwardDrawing as ForwardDrawing
from .views.forward import ForwardStep as ForwardStep
from .views.forward import ForwardSteps as ForwardSteps
from .views.forward import WholeDrawing as WholeDrawing
from .views.forward import WholeStep as WholeStep
from .views.forward import forward_steps as forward_steps
from .views.forward import step_through as step_through
from .views.stepper import operation_text as operation_text

__all__ = ["ForwardStep", "ForwardSteps", "WholeStep", "forward_steps", "operation_text", "step_through"]


def __getattr__(name: str) -> Any:
    """Any other name ``autograd.forward`` had, from its new home (a pickle of steps names private classes here)."""
    return views.moved(__name__, name, ("forward", "stepper", "step_drawing", "labels", "drawing", "layout", "groups"))
