"""The analysis panels the Analysis tab shows: a registry, like the task and model catalogs.

The tab (:class:`~psychrnn_widgets.widgets.analysis_tab.AnalysisTab`) imports no panel: it
builds one of every registered panel, in order.  The built-ins come from a fixed table of
this package's modules, imported when a tab is first built; a user's panel is registered
with :func:`register_analysis_panel` and appears in every Analysis tab built afterwards::

    from psychrnn_widgets.widgets.analysis_catalog import register_analysis_panel
    from psychrnn_widgets.widgets.analysis_common import AnalysisPanel

    @register_analysis_panel(title="Speed")
    class SpeedPanel(AnalysisPanel):
        name = "speed"
        ...

A panel is an :class:`~psychrnn_widgets.widgets.analysis_common.AnalysisPanel` subclass;
the tab makes it with ``cls.create(updater, shared, n_per_level=..., seed=...)`` and
asks ``cls.applies_to(source)`` before each refresh (a reason to show instead, or None).
"""
import threading
from importlib import import_module

from ..errors import ParameterError

__all__ = ["register_analysis_panel", "analysis_panels", "BUILTIN_PANELS"]

#: the built-in panels, in the tab's order: (name, title, module, class name)
BUILTIN_PANELS = (
    ("behaviour", "Behaviour", "psychrnn_widgets.widgets.analysis_behaviour", "BehaviourPanel"),
    ("units", "Units", "psychrnn_widgets.widgets.analysis_units", "UnitActivityPanel"),
    ("connectivity", "Connectivity", "psychrnn_widgets.widgets.analysis_connectivity", "ConnectivityPanel"),
    ("lesions", "Lesions", "psychrnn_widgets.widgets.analysis_lesions", "LesionPanel"),
    ("fixed_points", "Fixed points", "psychrnn_widgets.widgets.analysis_fixed_points", "FixedPointPanel"),
    ("compare", "Compare", "psychrnn_widgets.widgets.analysis_compare", "ComparePanel"),
)

_lock = threading.Lock()
_registered = {}  # name -> (title, class), in registration order


def register_analysis_panel(cls=None, name=None, title=None, replace=False):
    """Register an ``AnalysisPanel`` subclass for every Analysis tab built from now on; returns ``cls``.

    Args:
        cls: the panel class (usable as a decorator, bare or with arguments).
        name: the attribute the tab gives the panel (``tab.<name>``); default the class's
            ``name`` with spaces as underscores.
        title: the tab's title; default ``name`` capitalised.
        replace: allow a name that is taken (a built-in's included).

    Raises ``ParameterError`` for a class that is not an ``AnalysisPanel``, a name that is
    not an identifier or a taken name.
    """
    if cls is None:
        return lambda target: register_analysis_panel(target, name=name, title=title, replace=replace)
    from .analysis_common import AnalysisPanel

    if not (isinstance(cls, type) and issubclass(cls, AnalysisPanel)):
        raise ParameterError(f"only AnalysisPanel subclasses can be registered as analysis panels, got {cls!r}",
                             parameter="cls", value=cls, allowed="a subclass of AnalysisPanel")
    name = name or str(cls.name).replace(" ", "_")
    if not name.isidentifier():
        raise ParameterError(f"an analysis panel's name must be an identifier (it becomes tab.<name>), got {name!r}",
                             parameter="name", value=name, allowed="e.g. 'speed'")
    with _lock:
        taken = name in _registered or any(entry[0] == name for entry in BUILTIN_PANELS)
        if taken and not replace and _registered.get(name, (None, None))[1] is not cls:
            raise ParameterError(f"the analysis panel name {name!r} is taken; pass another name or replace=True",
                                 parameter="name", value=name)
        _registered[name] = (title or name.replace("_", " ").capitalize(), cls)
    return cls


def analysis_panels():
    """``[(name, title, class), ...]``: the built-ins (unless replaced), then the registered panels."""
    with _lock:
        registered = dict(_registered)
    entries = []
    for name, title, module, class_name in BUILTIN_PANELS:
        if name in registered:
            title, cls = registered.pop(name)
        else:
            cls = getattr(import_module(module), class_name)  # a fixed table of this package's modules
        entries.append((name, title, cls))
    entries.extend((name, title, cls) for name, (title, cls) in registered.items())
    return entries
