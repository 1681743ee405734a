"""Catalogs of the known task and model classes: how files and records name a class (NumPy only).

A record of a sweep, a saved Lab run or a weight file must say which task or model class
it was made with, and reading it back must find that class.  Storing a module path and
importing it would let a hand-edited file import any module and call any function, so
files store a **registered name** and reading resolves it here, in one of two catalogs:

* tasks: the built-in tasks (:data:`psychrnn_widgets.tasks.BUILTIN_TASKS`, registered by
  ``psychrnn_widgets.tasks`` under their class names) and the task classes registered in
  this process;
* models: ``Basic``, ``BasicScan``, ``LSTM`` and ``GRU`` from a fixed table of this
  package's own modules, imported only when a model is asked for (TensorFlow loads then,
  never because this module was imported), and the model classes registered in this process.

Each catalog lists its built-ins first, in their table's order, then the classes
registered in this process in the order they came (:meth:`Catalog.listed`): that is what
the dashboard's pickers show and what ``psychrnn_widgets.tasks.BUILTIN_TASKS`` is made of.

A model's NumPy twin (the simulator the analyses run) is found by the model's registered
name too (:func:`simulator_class`): for the built-ins from a fixed table of this package's
simulation modules (so analysing a weight file never imports TensorFlow), for a
registered class from its ``simulator`` attribute.

Registering::

    from psychrnn_widgets import register_task, register_model

    @register_task                 # under its class name, 'MyTask'
    class MyTask(Task): ...

    register_model(MyRNN, name="low_rank")

A name belongs to one class: registering another class under a taken name is an error
unless ``replace=True``.  A class defined again with the same module and qualified name
(a notebook cell run twice) replaces its earlier self without fuss.  A ``Sweep`` built
from a task class registers it (the user handed it over).

Lookups (:func:`task_class`, :func:`model_class`) accept a registered name, or the
``'module:QualName'`` that older records stored: that form is matched against the
classes already known (never imported), so an old record of a built-in still resolves.
An unknown name raises :class:`~psychrnn_widgets.errors.UnknownClassError` listing the
known names and how to register one.
"""
import re
import sys
import threading
from importlib import import_module

from .errors import ParameterError, UnknownClassError

__all__ = ["Catalog", "TASKS", "MODELS", "register_task", "register_model", "task_class", "model_class",
           "task_name", "model_name", "task_names", "model_names", "class_path", "simulator_class"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")

#: built-in models: registered name -> this package's module that defines a class of that name
_BUILTIN_MODELS = {
    "Basic": "psychrnn_widgets.models.basic",
    "BasicScan": "psychrnn_widgets.models.basic",
    "LSTM": "psychrnn_widgets.models.lstm",
    "GRU": "psychrnn_widgets.models.gru",
}
#: the NumPy twins of the built-in models: registered name -> (simulation module, class name); NumPy only
_BUILTIN_SIMULATORS = {
    "Basic": ("psychrnn_widgets.simulation.basic", "BasicSimulator"),
    "BasicScan": ("psychrnn_widgets.simulation.basic", "BasicSimulator"),
    "LSTM": ("psychrnn_widgets.simulation.lstm", "LSTMSimulator"),
    "GRU": ("psychrnn_widgets.simulation.gru", "GRUSimulator"),
}


def class_path(cls):
    """``'module:QualName'`` of a class: how records named classes before the catalog (matched, never imported)."""
    return f"{cls.__module__}:{cls.__qualname__}"


class Catalog:
    """Registered name -> class, for one kind of class (``'task'`` or ``'model'``); thread-safe.

    Args:
        kind: ``'task'`` or ``'model'`` (used in messages).
        base: ``(module name, class name)`` of the base class every entry subclasses.  The
            module is only looked up in ``sys.modules`` when the base is not imported yet,
            so checking a model class never imports TensorFlow (a subclass of ``RNN``
            exists only once ``RNN``'s module is loaded).
        builtins: ``{name: module}`` of this package's classes, imported on first lookup.
        builtin_package: a package of ours whose import registers its built-ins (tasks).
        register_hint: the call that registers a class, for messages.
    """

    def __init__(self, kind, base, builtins=None, builtin_package=None, register_hint=""):
        self.kind = kind
        self._base = base
        self._lazy = dict(builtins or {})
        self._package = builtin_package
        self._hint = register_hint
        self._classes = {}
        self._names = {}
        self._builtin = list(self._lazy)  # built-in names, in their table's (or registration's) order
        self._order = []  # names registered in this process, in order
        self._lock = threading.RLock()

    # ------------------------------------------------------------- registering
    def register(self, cls=None, name=None, replace=False, builtin=False):
        """Register ``cls`` under ``name`` (default: its class name); returns ``cls``.

        Usable as a decorator, bare (``@register_task``) or with arguments
        (``@register_task(name='my_task')``).  Raises ``ParameterError`` when ``cls`` is
        not a subclass of the catalog's base class, when ``name`` is not a plain name,
        when the name belongs to another class (unless ``replace=True``) or when ``cls``
        is registered under another name already (unless ``replace=True``).
        ``builtin=True`` (this package's own classes only) lists it with the built-ins.
        """
        if cls is None:
            return lambda target: self.register(target, name=name, replace=replace, builtin=builtin)
        self._check_class(cls)
        name = cls.__name__ if name is None else name
        if not isinstance(name, str) or not _NAME.match(name):
            raise ParameterError(f"a {self.kind} class is registered under a plain name (letters, digits, '_', '.', "
                                 f"'-'; no ':' or '/'), got {name!r}", parameter="name", value=name,
                                 allowed="a plain name such as 'MyTask'")
        with self._lock:
            self._load_package()  # a built-in's name is taken before any user class can claim it
            current = self._classes.get(name)
            if current is cls:
                return cls
            taken = class_path(current) if current is not None else \
                (f"{self._lazy[name]}:{name}" if name in self._lazy else None)
            if taken is not None and not replace and taken != class_path(cls):
                raise ParameterError(
                    f"the {self.kind} name {name!r} is taken by {taken}; register {class_path(cls)} under another "
                    f"name ({self._hint}(cls, name='...')) or pass replace=True", parameter="name", value=name)
            other = self._names.get(cls)
            if other is not None and other != name:
                if not replace:
                    raise ParameterError(f"{class_path(cls)} is already registered as the {self.kind} {other!r}; "
                                         "pass replace=True to rename it", parameter="name", value=name)
                self._classes.pop(other, None)
            if current is not None:
                self._names.pop(current, None)
            self._lazy.pop(name, None)
            self._classes[name] = cls
            self._names[cls] = name
            if other is not None and other != name and other in self._order:
                self._order.remove(other)
            if builtin and name not in self._builtin:
                self._builtin.append(name)
            elif not builtin and name not in self._builtin and name not in self._order:
                self._order.append(name)
        return cls

    def _check_class(self, cls):
        module_name, class_name = self._base
        module = sys.modules.get(module_name)
        base = getattr(module, class_name, None) if module is not None else None
        if not isinstance(cls, type) or base is None or not issubclass(cls, base):
            raise ParameterError(f"only subclasses of {class_name} can be registered as {self.kind} classes, got "
                                 f"{cls!r}", parameter=self.kind, value=cls,
                                 allowed=f"a subclass of psychrnn_widgets.{class_name}")

    # ------------------------------------------------------------- looking up
    def get(self, name, where=None):
        """The class registered as ``name`` (or matching an older record's ``'module:QualName'``).

        ``where`` names what asked (e.g. ``"record run-3f2a... in sweeps/pd"``) for the message.
        Raises :class:`~psychrnn_widgets.errors.UnknownClassError` for anything else.
        """
        subject = f"{where}: " if where else ""
        if not isinstance(name, str):
            raise UnknownClassError(f"{subject}a {self.kind} class is named by a string, got {name!r}",
                                    parameter=self.kind, value=name, allowed="a registered name")
        with self._lock:
            self._load_package()
            found = self._classes.get(name)
            if found is None and name in self._lazy:
                found = self._load_lazy(name)
            if found is None and ":" in name:
                found = self._by_path(name)
            if found is not None:
                return found
            known = ", ".join(self.names()) or "none"
        alias = f" (or {self._hint}(YourClass, name={name!r}))" if _NAME.match(name) else ""
        raise UnknownClassError(
            f"{subject}the {self.kind} class {name!r} is not registered (known: {known}). Nothing is imported "
            f"because a file names it: import your class and register it first, {self._hint}(YourClass){alias}",
            parameter=self.kind, value=name, allowed="a registered name")

    def _by_path(self, path):
        for name, module in self._lazy.items():
            if path == f"{module}:{name}":
                return self._load_lazy(name)
        for cls in self._classes.values():
            if class_path(cls) == path:
                return cls
        return None

    def name_of(self, cls):
        """The name ``cls`` is registered under; ``UnknownClassError`` (saying how to register it) if none."""
        with self._lock:
            self._load_package()
            name = self._names.get(cls)
            if name is None:
                for lazy, module in self._lazy.items():
                    if class_path(cls) == f"{module}:{lazy}" and self._load_lazy(lazy) is cls:
                        return lazy
        if name is None:
            raise UnknownClassError(f"the {self.kind} class {class_path(cls) if isinstance(cls, type) else cls!r} is "
                                    f"not registered; register it with {self._hint}(...) so that files and records "
                                    "can name it", parameter=self.kind, value=cls)
        return name

    def names(self):
        """Every registered name (built-ins included), sorted; imports nothing beyond the task package."""
        with self._lock:
            self._load_package()
            return sorted(set(self._classes) | set(self._lazy))

    def listed(self):
        """Every registered name for a picker: the built-ins in their order, then the others as registered."""
        with self._lock:
            self._load_package()
            return [name for name in self._builtin if name in self._classes or name in self._lazy] + \
                [name for name in self._order if name in self._classes]

    def builtins(self):
        """``{name: class}`` of the built-ins, in their order (imports each built-in now)."""
        with self._lock:
            return {name: self.get(name) for name in self.listed() if name in self._builtin}

    def is_builtin(self, name):
        """Whether ``name`` is one of this package's own classes."""
        with self._lock:
            self._load_package()
            return name in self._builtin

    def __contains__(self, name):
        with self._lock:
            self._load_package()
            return name in self._classes or name in self._lazy

    # ------------------------------------------------------------- built-ins
    def _load_package(self):
        if self._package is not None and self._package not in sys.modules:
            import_module(self._package)  # a fixed package of ours; its import registers the built-ins

    def _load_lazy(self, name):
        module = self._lazy.pop(name)
        cls = getattr(import_module(module), name)  # a fixed table of this package's modules
        self._classes.setdefault(name, cls)
        self._names.setdefault(cls, name)
        return self._classes[name]


#: the task catalog (built-ins registered by ``psychrnn_widgets.tasks``)
TASKS = Catalog("task", ("psychrnn_widgets.tasks.task", "Task"), builtin_package="psychrnn_widgets.tasks",
                register_hint="psychrnn_widgets.register_task")
#: the model catalog (built-ins from a fixed table, imported on first lookup)
MODELS = Catalog("model", ("psychrnn_widgets.models.rnn", "RNN"), builtins=_BUILTIN_MODELS,
                 register_hint="psychrnn_widgets.register_model")


def register_task(cls=None, name=None, replace=False):
    """Register a ``Task`` subclass under ``name`` (default: its class name); a decorator too. Returns ``cls``."""
    return TASKS.register(cls, name=name, replace=replace)


def register_model(cls=None, name=None, replace=False):
    """Register an ``RNN`` subclass under ``name`` (default: its class name); a decorator too. Returns ``cls``.

    The class's ``simulator`` (its NumPy twin) must be None or a subclass of
    ``psychrnn_widgets.simulation.base.Simulator`` (``ParameterError`` otherwise).  A
    registered class appears in the dashboard's model picker.
    """
    if cls is None:
        return lambda target: register_model(target, name=name, replace=replace)
    twin = getattr(cls, "simulator", None)
    base = getattr(sys.modules.get("psychrnn_widgets.simulation.base"), "Simulator", None)
    if twin is not None and not (isinstance(twin, type) and base is not None and issubclass(twin, base)):
        raise ParameterError(f"{class_path(cls) if isinstance(cls, type) else cls!r}.simulator must be None or a "
                             f"simulator class (a subclass of psychrnn_widgets.SteppedSimulator), got {twin!r}",
                             parameter="simulator", value=twin, allowed="None or a Simulator subclass")
    return MODELS.register(cls, name=name, replace=replace)


def task_class(name, where=None):
    """The task class registered as ``name``; ``UnknownClassError`` listing the known names otherwise."""
    return TASKS.get(name, where)


def model_class(name, where=None):
    """The model class registered as ``name`` (a built-in imports TensorFlow now); ``UnknownClassError`` otherwise."""
    return MODELS.get(name, where)


def task_name(cls):
    """The registered name of a task class."""
    return TASKS.name_of(cls)


def model_name(cls):
    """The registered name of a model class."""
    return MODELS.name_of(cls)


def task_names():
    """Every registered task name, sorted."""
    return TASKS.names()


def model_names():
    """Every registered model name, sorted (imports no model)."""
    return MODELS.names()


def simulator_class(model, where=None):
    """The NumPy twin of a model class (a simulator class), or None when the class declares none.

    ``model``: a registered model name (a weight file's ``model`` entry), or a model class
    or object.  A built-in's twin comes from a fixed table of this package's simulation
    modules (no TensorFlow is imported); any other class's from its ``simulator``
    attribute.  An unknown name raises
    :class:`~psychrnn_widgets.errors.UnknownClassError`.
    """
    if not isinstance(model, str):
        cls = model if isinstance(model, type) else type(model)
        return getattr(cls, "simulator", None)
    with MODELS._lock:
        loaded = MODELS._classes.get(model)
        builtin = _BUILTIN_SIMULATORS.get(model)
        if builtin is not None and (loaded is None or class_path(loaded) == f"{_BUILTIN_MODELS[model]}:{model}"):
            module, name = builtin
            return getattr(import_module(module), name)  # a fixed table of this package's NumPy modules
    return getattr(MODELS.get(model, where), "simulator", None)
