"""no_grad(): values computed inside record no parents; nesting, decorator form, threads, is_grad_enabled."""

from __future__ import annotations

import math
import sys
import threading

import pytest

import autograd
from autograd import Value, dot, is_grad_enabled, no_grad, sum_values


def every_op(x: Value, y: Value) -> list[Value]:
    return [
        x + y,
        x - y,
        x * y,
        x / y,
        x**2,
        x**y,
        2**x,
        -x,
        abs(x),
        x.exp(),
        x.log(),
        x.sqrt(),
        x.tanh(),
        x.sigmoid(),
        x.relu(),
        x.leaky_relu(),
        x.softplus(),
        x.sin(),
        x.cos(),
        autograd.exp(x),
        sum_values([x, y, x]),
        dot([x, y], [y, 2.0]),
    ]


def test_values_made_inside_record_no_parents():
    x, y = Value(1.5), Value(0.5)
    with no_grad():
        outs = every_op(x, y)
    for out in outs:
        assert out.parents == () and out._prev == set()
        assert out.op == "" and out.local_grads == ()
    recorded = every_op(x, y)
    assert [o.data for o in outs] == [o.data for o in recorded]  # the forward values are unchanged
    assert all(o.parents for o in recorded)


def test_backward_through_a_no_grad_value_stops_there():
    x = Value(2.0)
    with no_grad():
        frozen = x * 3  # a constant now
    y = frozen * x  # dy/dx = frozen = 6, not 12
    y.backward()
    assert x.grad == 6.0
    assert frozen.grad == 2.0


def test_is_grad_enabled_and_nesting():
    assert is_grad_enabled()
    with no_grad():
        assert not is_grad_enabled()
        with no_grad():
            assert not is_grad_enabled()
            assert (Value(1.0) * 2).parents == ()
        assert not is_grad_enabled()  # still inside the outer block
        assert (Value(1.0) * 2).parents == ()
    assert is_grad_enabled()
    assert (Value(1.0) * 2).parents != ()


def test_state_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            Value(1.0) / 0
    assert is_grad_enabled()
    assert (Value(1.0) * 2).parents != ()


def test_decorator_form():
    @no_grad()
    def predict(w: Value, x: float) -> Value:
        """Evaluate without recording."""
        assert not is_grad_enabled()
        return (w * x).tanh()

    w = Value(0.3)
    out = predict(w, 2.0)
    assert out.parents == ()
    assert out.data == pytest.approx(math.tanh(0.6), rel=1e-15)
    assert predict.__name__ == "predict"
    assert predict.__doc__ == "Evaluate without recording."
    assert is_grad_enabled()


def test_another_thread_keeps_recording_while_one_is_inside_no_grad():
    inside = threading.Event()
    recorded = threading.Event()
    results: dict[str, object] = {}

    def quiet() -> None:
        with no_grad():
            inside.set()
            recorded.wait(10)  # stay inside until the other thread has built its graph
            results["quiet_enabled"] = is_grad_enabled()
            results["quiet_parents"] = (Value(2.0) * 3).parents

    def loud() -> None:
        inside.wait(10)
        a = Value(2.0)
        b = a * a + a.exp()
        results["loud_enabled"] = is_grad_enabled()
        results["loud_parents"] = b.parents
        b.backward()
        results["loud_grad"] = a.grad
        recorded.set()

    threads = [threading.Thread(target=quiet), threading.Thread(target=loud)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert inside.is_set() and recorded.is_set()
    assert results["quiet_enabled"] is False
    assert results["quiet_parents"] == ()
    assert results["loud_enabled"] is True
    assert len(results["loud_parents"]) == 2
    assert results["loud_grad"] == pytest.approx(4 + math.exp(2), rel=1e-15)
    assert is_grad_enabled()


def test_many_threads_toggling_and_recording_at_once():
    errors: list[str] = []
    start = threading.Barrier(8)

    def toggler(n: int) -> None:
        start.wait()
        for _ in range(300):
            with no_grad():
                if (Value(1.0) + n).parents != ():
                    errors.append("recorded inside no_grad")
                with no_grad():
                    if is_grad_enabled():
                        errors.append("enabled inside nested no_grad")

    def recorder(n: int) -> None:
        start.wait()
        for _ in range(300):
            x = Value(float(n))
            y = x * x + 1
            if not y.parents or not is_grad_enabled():
                errors.append("lost the graph outside no_grad")
                continue
            y.backward()
            if x.grad != 2.0 * n:
                errors.append(f"wrong gradient {x.grad}")

    threads = [threading.Thread(target=toggler, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=recorder, args=(i,)) for i in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so the blocks really interleave
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert is_grad_enabled()
