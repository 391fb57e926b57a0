"""The suite-author API for calling into the learner's worker: proxies that look like the
learner's module, its functions and the objects its code returns.

A suite gets the learner's module as the ``ex`` fixture (a ``ModuleProxy``)::

    got = ex.matmul(a, b)                          # a call; the value comes back as data
    run = ex.matvec.call(m, v, probe=["trace"])    # with a time limit and probes: a CallResult
    ex.seed_torch(seed)                            # torch.manual_seed in the worker
    model = ex.SimpleMnist()                       # an object that stays in the worker
    model.l1_w, model(x), model.call(x, probe=["trace"]), model.grad_of("l2_b")

Learner-side failures raise the ``grader.errors.LearnerError`` family.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Sequence

from grader.errors import LearnerRaised
from grader.isolation import codec

if TYPE_CHECKING:
    from grader.isolation.client import CallResult, Learner


class ModuleProxy:
    """``proxy.matmul(a, b)`` calls ``matmul`` of the learner's module in the worker."""

    def __init__(self, learner: "Learner", name: str) -> None:
        self._learner, self._name = learner, name

    def __getattr__(self, attr: str) -> "FunctionProxy":
        if attr.startswith("__"):
            raise AttributeError(attr)
        return FunctionProxy(self._learner, self._name, attr)

    def load(self) -> None:
        """Import the module in the worker now; ``ImportFailed`` if it cannot be."""
        self._learner.load(self._name)

    def seed_torch(self, seed: int) -> bool:
        """``torch.manual_seed(seed)`` in the worker, through this module's own ``torch`` (the
        module is imported first), so that grading a submission twice gives the same random
        numbers; False where the module has no ``torch`` to seed."""
        try:
            self._learner.call(self._name, ["torch", "manual_seed"], [seed])
        except LearnerRaised:
            return False
        return True


class FunctionProxy:
    def __init__(self, learner: "Learner", module: str, name: str) -> None:
        self._learner, self.module, self.name = learner, module, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._learner.call(self.module, [self.name], args, kwargs).value

    def call(self, *args: Any, timeout: float | None = None, probe: Sequence[str] = (),
             **kwargs: Any) -> "CallResult":
        """Like calling the proxy, with a time limit and probes (``protocol.Probe``:
        ``trace``, ``shares_memory``, ``array_meta``, ``lines``: how often each line of the
        learner's files ran; ``materialize``: an iterator result is read into a list in the
        worker); the ``CallResult`` has the value, the probes' results and the seconds."""
        return self._learner.call(self.module, [self.name], args, kwargs, timeout=timeout,
                                  probe=probe)


class RemoteObject:
    """An object that lives in the worker (a learner's model, say).

    Attribute reads fetch the value (data comes back as data, anything else as another
    ``RemoteObject``); calling it calls the object in the worker. It lives as long as the
    worker that made it (``alive``): a restart after a failure loses it.
    """

    def __init__(self, learner: "Learner", handle: codec.Handle, module: str) -> None:
        object.__setattr__(self, "_learner", learner)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_generation", learner.generation)
        weakref.finalize(self, _release, weakref.ref(learner), handle.id, learner.generation)

    @property
    def type_name(self) -> str:
        return self._handle.type_name

    @property
    def alive(self) -> bool:
        """Whether the worker holding this object still runs (it is lost when it restarts)."""
        return self._learner.holds(self._generation)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._learner.getattr(self, [name])

    def __call__(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        return self.call(*args, timeout=timeout, **kwargs).value

    def call(self, *args: Any, timeout: float | None = None, probe: Sequence[str] = (),
             **kwargs: Any) -> "CallResult":
        """Call the object, with a time limit and probes, as ``FunctionProxy.call``."""
        return self._learner.call(self._module, [], args, kwargs, timeout=timeout, handle=self,
                                  probe=probe)

    def method(self, name: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Call ``obj.name(*args)`` in the worker in one round trip."""
        return self._learner.call(self._module, [name], args, kwargs, timeout=timeout,
                                  handle=self).value

    def method_list(self, name: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> list:
        """``list(obj.name(*args))``, read in the worker: for methods that return an iterator,
        e.g. ``model.method_list("named_parameters")`` -> ``[(name, tensor), ...]``."""
        return self._learner.call(self._module, [name], args, kwargs, timeout=timeout,
                                  handle=self, probe=["materialize"]).value

    def grad_of(self, name: str) -> Any:
        """``obj.name.grad``, the gradient a parameter holds (None before any backward), in one
        round trip."""
        return self._learner.getattr(self, [name, "grad"])

    def __repr__(self) -> str:
        return f"<learner's {self._handle.type_name} object: {self._handle.text}>"


def _release(learner_ref: "weakref.ref[Learner]", hid: int, generation: int) -> None:
    learner = learner_ref()
    if learner is not None:
        learner.release(hid, generation)
