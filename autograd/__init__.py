"""stepgrad's engine: scalar reverse-mode automatic differentiation.

>>> from autograd import Value
>>> x = Value(3.0); y = x * x * x; y.backward(); x.grad      # d(x³)/dx = 3x² = 27
27.0
"""

from .check import check_backward
from .compile import TraceError, TracerWarning, compiled  # numpy is imported lazily, by compiled()
from .engine import (
    Op,
    Value,
    cos,
    dot,
    exp,
    log,
    maximum,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    sum_values,
    tanh,
    where,
)
from .functional import GradcheckError, grad, gradcheck, hessian, jacobian
from .graph import topological_order, trace
from .modes import Scope, auto_scope, is_grad_enabled, no_grad, scope
from .views.drawing import GraphvizNotFound, draw_dot  # graphviz is imported lazily, inside the drawing functions
from .views.forward import forward_steps, step_through  # beside backward_steps: the forward pass; both passes
from .views.stepper import backward_steps  # stdlib-only at import; ipywidgets is imported lazily

__all__ = [
    "GradcheckError",
    "GraphvizNotFound",
    "TraceError",
    "TracerWarning",
    "backward_steps",
    "check_backward",
    "compiled",
    "draw_dot",
    "forward_steps",
    "grad",
    "gradcheck",
    "hessian",
    "jacobian",
    "Op",
    "Scope",
    "Value",
    "auto_scope",
    "cos",
    "dot",
    "exp",
    "is_grad_enabled",
    "log",
    "maximum",
    "no_grad",
    "relu",
    "scope",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "step_through",
    "sum_values",
    "tanh",
    "topological_order",
    "trace",
    "where",
]
