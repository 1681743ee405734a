"""Issue 20 (DESIGN §8): the Lab's panels meet only in its state object, and nothing replaces ipywidgets' attributes.

* No panel module imports another panel module; only the composition root (``lab.py``,
  and ``classroom.py``, a Lab laid out for a projector) knows them all.  The Analysis
  tab builds its panels from the analysis-panel registry and imports none of them.
* In a built Lab no panel holds another panel: they share the
  :class:`~psychrnn_widgets.widgets.lab_state.LabState` (and, inside the Analysis tab,
  an ``AnalysisShared``).
* ``network_params`` passes through ``lab.py`` once (the constructor hands it to the Network tab).
* No module of the package assigns an attribute of ipywidgets (statically, over every
  module), and building and training a Lab leaves every attribute of ipywidgets' widget
  classes and modules as it was (in a fresh process).
"""
import ast
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("ipywidgets")
pytest.importorskip("bqplot")

from helpers import REPO, run_python  # noqa: E402

PACKAGE = REPO / "psychrnn_widgets"
WIDGETS = PACKAGE / "widgets"
#: modules defining a panel of the Lab (each a widget the Lab shows in a tab or a column)
LAB_PANELS = {"task_panel": "TaskPanel", "network_panel": "NetworkPanel", "training_panel": "TrainingPanel",
              "trajectory_view": "TrajectoryView", "curriculum_panel": "CurriculumPanel",
              "history_panel": "HistoryPanel", "analysis_tab": "AnalysisTab", "sweep_panel": "SweepPanel",
              "connectivity": "ConnectivityEditor", "trajectory3d": "Trajectory3D"}
#: modules defining an analysis panel (the Analysis tab's registry lists them)
ANALYSIS_PANELS = {"analysis_behaviour": "BehaviourPanel", "analysis_units": "UnitActivityPanel",
                   "analysis_connectivity": "ConnectivityPanel", "analysis_lesions": "LesionPanel",
                   "analysis_fixed_points": "FixedPointPanel", "analysis_compare": "ComparePanel"}
PANELS = {**LAB_PANELS, **ANALYSIS_PANELS}
#: the composition root and its one subclass know every panel
ROOTS = {"lab", "classroom"}


def imported_modules(path):
    """The ``psychrnn_widgets.widgets`` module names a file imports (relative or absolute)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 1 or module.startswith("psychrnn_widgets.widgets"):
                base = module.rsplit(".", 1)[-1] if module else ""
                found.add(base)
                found.update(alias.name for alias in node.names)  # from . import task_panel
        elif isinstance(node, ast.Import):
            found.update(alias.name.rsplit(".", 1)[-1] for alias in node.names
                         if alias.name.startswith("psychrnn_widgets.widgets"))
    return found


def test_no_panel_module_imports_another_panel_module():
    offenders = []
    for path in sorted(WIDGETS.glob("*.py")):
        name = path.stem
        if name in ROOTS or name == "__init__":
            continue
        others = (imported_modules(path) & set(PANELS)) - {name}
        source = path.read_text()
        named = [cls for module, cls in PANELS.items() if module != name and cls in source
                 and f"class {cls}" not in source]
        if others or (name in PANELS and named):
            offenders.append((name, sorted(others), named))
    assert not offenders, offenders
    # the composition root does know them (it builds them); the Analysis tab knows only the registry
    assert set(LAB_PANELS) - {"sweep_panel", "connectivity", "trajectory3d"} <= imported_modules(WIDGETS / "lab.py")
    assert not imported_modules(WIDGETS / "analysis_tab.py") & set(ANALYSIS_PANELS)
    assert {"analysis_catalog", "lab_state"} & imported_modules(WIDGETS / "analysis_tab.py")


def test_network_params_passes_through_lab_py_once():
    tree = ast.parse((WIDGETS / "lab.py").read_text())
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                 and any(isinstance(n, ast.Name) and n.id == "network_params" for n in ast.walk(node))]
    assert [f.name for f in functions] == ["__init__"]  # handed to the Network tab, then never seen again


def _panels_of(lab):
    lab_level = [lab.task_panel, lab.network_panel, lab.training, lab.trajectories, lab.history_panel, lab.analysis]
    if lab.curriculum_panel is not None:
        lab_level.append(lab.curriculum_panel)
    return lab_level, list(lab.analysis.panels)


def _reached(value):
    """``value``, and what a callback stored in it would call: a bound method's object, a closure's cells."""
    yield value
    if hasattr(value, "__self__"):
        yield value.__self__
    for cell in getattr(value, "__closure__", None) or ():
        try:
            yield cell.cell_contents
        except ValueError:  # an empty cell
            pass


def _held(obj):
    """Objects an object refers to directly: its attributes and the items of its lists, tuples and dicts, and
    whatever a callback among them is bound to."""
    for value in vars(obj).values():
        items = [value]
        if isinstance(value, (list, tuple, set)):
            items += list(value)
        elif isinstance(value, dict):
            items += list(value.values())
        for item in items:
            yield from _reached(item)


def test_in_a_built_lab_no_panel_holds_another_they_share_the_state():
    from psychrnn_widgets import Curriculum, PerceptualDiscrimination
    from psychrnn_widgets.widgets import Lab

    stages = [PerceptualDiscrimination(dt=10, tau=100, T=500, N_batch=16, coherence=c, seed=0) for c in (0.7, 0.3)]
    lab = Lab(network_params={"N_rec": 12}, curriculum=Curriculum(stages, thresholds=[0.9, 0.9]))
    lab_level, analysis_level = _panels_of(lab)
    for group in (lab_level, analysis_level):
        for panel in group:
            others = [type(other).__name__ for other in _held(panel)
                      if any(other is candidate for candidate in group if candidate is not panel)]
            if panel is lab.analysis:  # the tab shows its registered analysis panels (its children, a group apart)
                assert not others, others
                continue
            assert not others, (type(panel).__name__, others)
    states = {id(getattr(panel, "lab_state", None)) for panel in (lab.task_panel, lab.network_panel, lab.training,
                                                                  lab.history_panel)}
    assert states == {id(lab.state)}
    assert len({id(panel.shared) for panel in analysis_level}) == 1


# ------------------------------------------------------------------ ipywidgets' attributes
def _ipywidgets_names(tree):
    """Names bound to ipywidgets (its modules or anything imported from it) in a module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "ipywidgets":
                    names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ipywidgets":
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def assignments_to(tree, names):
    """Lines where an attribute reached from one of ``names`` is assigned, deleted or ``setattr``-ed."""
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr",
                                                                                                "delattr"):
            if node.args and _root(node.args[0]) in names:
                found.append(node.lineno)
        for target in targets:
            if isinstance(target, (ast.Attribute, ast.Subscript)) and _root(target) in names:
                found.append(node.lineno)
    return found


def test_the_static_check_finds_a_patch_of_ipywidgets():
    """The check below is not vacuous: it flags the patterns a monkeypatch uses."""
    code = textwrap.dedent("""
        import ipywidgets as widgets
        from ipywidgets.widgets.widget import Widget
        Widget._send = lambda *a: None
        widgets.Widget.on_msg = None
        setattr(Widget, "send", None)
        self.button.disabled = True
    """)
    tree = ast.parse(code)
    assert assignments_to(tree, _ipywidgets_names(tree)) == [4, 5, 6]


def test_no_module_of_the_package_assigns_an_attribute_of_ipywidgets():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        names = _ipywidgets_names(tree)
        lines = assignments_to(tree, names) if names else []
        if lines:
            offenders[str(path.relative_to(REPO))] = lines
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "_send"], path
    assert not offenders, offenders


def test_building_and_training_a_lab_leaves_ipywidgets_as_it_was():
    result = run_python("""
        import ipywidgets, ipywidgets.widgets.widget as widget_module
        from ipywidgets.widgets.widget import Widget
        from ipywidgets import DOMWidget, Box

        def snapshot():
            seen = {}
            for owner in (Widget, DOMWidget, Box):
                for name, value in vars(owner).items():
                    seen[(owner.__name__, name)] = value
            for module in (ipywidgets, widget_module):
                for name, value in vars(module).items():
                    seen[(module.__name__, name)] = value
            return seen

        before = snapshot()
        original_send = Widget._send
        from psychrnn_widgets import PerceptualDiscrimination
        from psychrnn_widgets.widgets import Lab, Classroom
        task = PerceptualDiscrimination(dt=10, tau=100, T=300, N_batch=8, seed=0)
        lab = Lab(task, {"N_rec": 8}, training_iters=8 * 5)
        assert lab.training.start() and lab.training.wait(120) and lab.training.state == "done"
        Classroom()
        after = snapshot()
        changed = sorted(str(key) for key in set(before) | set(after)
                         if key[1] != "__warningregistry__" and before.get(key, 0) is not after.get(key, 0))
        assert not changed, changed
        assert Widget._send is original_send and Widget._send.__module__ == "ipywidgets.widgets.widget"
        print("unchanged")
    """, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("unchanged")
