"""``Classroom``: the Lab laid out for a projector and for Voilà (no code on screen).

    from psychrnn_widgets.widgets import Classroom
    Classroom()            # in a notebook; or: voila notebooks/classroom.ipynb

One screen at 1280x720, top to bottom: the task picker and the presets; a few constraints (units,
Dale's law, connection density, noise) with their plain-language names; **Train** /
**Stop** and the status line; the loss curve next to the behaviour the network shows
(its psychometric curve, recomputed when a run ends) and its hidden-state trajectories.
Everything else of the Lab (all the network settings, the curriculum, the runs, the
analysis tabs) is one click away under "More".  Everything is the :class:`Lab`'s: the
same state machine, history (no trained network is ever thrown away) and message budget.

Presets (:data:`PRESETS`) set the constraints, the learning rate and the budget and build
a fresh network at once (the previous one stays in the history).
"""
import ipywidgets as widgets

from .lab import Lab

__all__ = ["Classroom", "PRESETS"]

#: preset -> (network controls, learning rate, budget in trials); every budget reaches ~0.9 on the
#: hello world in well under a minute on a laptop CPU (benchmarks/README.md)
PRESETS = {
    "easy": ({"N_rec": 50, "dale_enabled": False, "density": 1.0, "rec_noise": 0.0}, 0.005, 5000),
    "with Dale's law": ({"N_rec": 50, "dale_enabled": True, "dale_ratio": 0.8, "density": 1.0, "rec_noise": 0.0},
                        0.005, 15000),
    "sparse": ({"N_rec": 80, "dale_enabled": False, "density": 0.2, "rec_noise": 0.0}, 0.005, 8000),
}
#: width and height of each of the three plots on the main screen
FIGURE_SIZE = ("400px", "270px")
#: the network controls shown on the main screen (the rest are under "More")
MAIN_CONTROLS = ("N_rec", "dale_ratio", "rec_noise")


class Classroom(Lab):
    """A compact Lab (see the module docstring).

    Args:
        task: the starting task (default: the hello world).
        preset: a key of :data:`PRESETS`.
        **kwargs: passed to :class:`Lab`.

    Attributes (beyond the Lab's): ``presets`` (ToggleButtons), ``train_button``,
    ``stop_button``, ``more`` (Accordion with the full Lab).
    """

    def __init__(self, task=None, preset="easy", **kwargs):
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(map(repr, PRESETS))}, got {preset!r}")
        controls, learning_rate, budget = PRESETS[preset]
        network_params = {key: value for key, value in controls.items() if key in ("N_rec", "rec_noise")}
        if controls.get("dale_enabled"):
            network_params["dale_ratio"] = controls["dale_ratio"]
        kwargs.setdefault("learning_rate", learning_rate)
        kwargs.setdefault("training_iters", budget)
        super().__init__(task, network_params, **kwargs)
        self.presets = widgets.ToggleButtons(options=list(PRESETS), value=preset, description="Preset",
                                             style={"button_width": "120px", "description_width": "initial"},
                                             tooltips=["a plain network", "excitatory and inhibitory units "
                                                       "(Dale's law)", "only 20% of the connections exist"])
        if controls.get("density", 1.0) < 1.0:
            self._apply_preset(preset)
        self.presets.observe(self._on_preset, names="value")
        self.train_button = widgets.Button(description="Train", icon="play", button_style="success",
                                           layout=widgets.Layout(width="110px"),
                                           tooltip="train the network (in the background)")
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger",
                                          layout=widgets.Layout(width="90px"),
                                          tooltip="stop after the current step; the network is kept")
        self.train_button.on_click(lambda _: self.training.start())
        self.stop_button.on_click(lambda _: self.training.stop())
        self.training.observe(self._sync_buttons, names="state")
        self._sync_buttons()

        pc = self.network_panel.parameter_controls
        # one label per control: the checkbox says "Dale's law" itself, the slider its plain-language name
        density = self.network_panel.controls["density"]
        density.description, density.tooltip = "Connection density", "fraction of recurrent connections that exist"
        density.style.description_width = "initial"
        constraints = widgets.HBox(
            [pc["N_rec"], self.network_panel.controls["dale_enabled"], pc["dale_ratio"], density, pc["rec_noise"]],
            layout=widgets.Layout(flex_flow="row wrap", align_items="flex-end"))
        run = widgets.HBox([self.train_button, self.stop_button, self.training.pending],
                           layout=widgets.Layout(align_items="center"))
        behaviour = self.analysis.behaviour.psychometric_figure
        # the three plots side by side and whole on a 1280x720 projector (Voila shows the notebook's heading above)
        for figure in (self.training.loss_figure, behaviour, self.trajectories.figure):
            figure.layout.width, figure.layout.height = FIGURE_SIZE
        figures = widgets.HBox([self.training.loss_figure, behaviour, self.trajectories.figure],
                               layout=widgets.Layout(flex_flow="row wrap"))
        self.more = widgets.Accordion(children=[widgets.VBox([self.tabs, self.rebuild_button, self.training])],
                                      titles=("More: every setting, the runs, the analysis",))
        self.more.selected_index = None
        picker = widgets.HBox([self.task_panel.choice, self.presets], layout=widgets.Layout(flex_flow="row wrap"))
        # the Lab's message line (what a preset built, why a click was refused) on the main screen
        self.children = [self.children[0], self.disconnected_note, picker, constraints, run,
                         self.training.status, self.message, figures, self.more]
        self.add_class("psychrnn-classroom")

    # ------------------------------------------------------------------ presets
    def _on_preset(self, change):
        self._apply_preset(change["new"])

    def _apply_preset(self, name):
        """Set the constraints, learning rate and budget of preset ``name``; build the network (not while training)."""
        if self.training.running:
            self.state.say("stop training before choosing a preset", error=True)
            return False
        controls, learning_rate, budget = PRESETS[name]
        # one new network for the whole preset, not one per control: the state decides once, after the build
        with self.state.hold_trait_notifications():
            for key, value in controls.items():
                self.network_panel.controls[key].value = value
            model = self.rebuild()
        self.training.learning_rate.value = learning_rate
        self.training.budget.value = budget
        if model is not None:
            self.state.say(f"preset {name!r}: {self.current_record.label}")
        return model is not None

    def _sync_buttons(self, change=None):
        self.train_button.disabled = self.training.start_button.disabled
        self.stop_button.disabled = self.training.stop_button.disabled
