"""The anywidget front-ends (js/ -> psychrnn_widgets/widgets/static/) and their Python classes.

- the front-ends' pure logic, tested by ``node --test`` (js/**/*.test.js);
- the committed bundles are what ``npm run build --prefix js`` makes from js/ (when js/node_modules exists);
- ConnectivityEditor / Trajectory3D traits, validation and the messages they send;
- Must-show 3 of issue 4: a mask painted in the editor becomes ``rec_connectivity`` and training keeps its zeros.
"""
import filecmp
import functools
import html
import http.server
import pathlib
import re
import shutil
import subprocess
import threading

import numpy as np
import pytest
import traitlets

pytest.importorskip("anywidget")

from psychrnn_widgets.widgets.connectivity import ConnectivityEditor  # noqa: E402
from psychrnn_widgets.widgets.trajectory3d import MAX_LINES, MAX_STEPS, Trajectory3D  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
JS = ROOT / "js"
STATIC = ROOT / "psychrnn_widgets" / "widgets" / "static"
WIDGETS = ["connectivity", "trajectory3d"]
NODE = shutil.which("node")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def record_messages(widget):
    """Replace ``widget._send`` to keep every message (and its binary buffers) sent to the front-end."""
    sent = []
    widget._send = lambda msg, buffers=None: sent.append((msg, buffers or []))
    return sent


def from_frontend(widget, **state):
    """Deliver a state update as the front-end's comm message would (JSON state, no buffers).

    ipywidgets logs (does not raise) an error in handling a front-end message: callers check the traits.
    """
    widget._handle_msg({"content": {"data": {"method": "update", "state": state, "buffer_paths": []}}, "buffers": []})


# ---------------------------------------------------------------------------- JavaScript
@pytest.mark.skipif(NODE is None, reason="node is not installed: the js/ logic tests need Node.js >= 18")
def test_js_logic_node_tests_pass():
    result = subprocess.run([NODE, "--test"], cwd=JS, capture_output=True, text=True, timeout=300)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    passed = re.search(r"^# pass (\d+)", report, re.M)
    failed = re.search(r"^# fail (\d+)", report, re.M)
    assert passed and int(passed.group(1)) >= 20, report  # every js/**/*.test.js file was found and ran
    assert failed and int(failed.group(1)) == 0, report


@pytest.mark.skipif(NODE is None, reason="node is not installed: the bundles cannot be rebuilt")
@pytest.mark.skipif(not (JS / "node_modules" / "esbuild").is_dir(),
                    reason="js/node_modules is absent (run `npm ci --prefix js` to check the bundles)")
def test_committed_bundles_are_up_to_date(tmp_path):
    result = subprocess.run([NODE, str(JS / "build.mjs"), "--outdir", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in WIDGETS:
        built, committed = tmp_path / f"{name}.js", STATIC / f"{name}.js"
        assert committed.exists(), f"{committed} is missing: run `npm run build --prefix js`"
        assert filecmp.cmp(built, committed, shallow=False), (
            f"{committed.relative_to(ROOT)} is stale: run `npm run build --prefix js` and commit it"
        )


@pytest.mark.parametrize("cls,name", [(ConnectivityEditor, "connectivity"), (Trajectory3D, "trajectory3d")])
def test_widgets_load_the_committed_bundles(cls, name):
    bundle = (STATIC / f"{name}.js").read_text(encoding="utf-8")
    assert re.search(r"export\s*\{\s*\w+ as default\s*\}", bundle) and "render" in bundle
    assert "import " not in bundle.split("\n", 2)[2]  # self-contained: no imports left to resolve
    assert cls()._esm == bundle


# A page that renders both bundles with a stand-in anywidget model (binary traits as DataViews, as
# ipywidgets delivers them), then drags with real PointerEvents and logs what the widgets sent back.
BROWSER_PAGE = """<!doctype html><html><body><div id="a"></div><div id="b"></div><pre id="log"></pre>
<script type="module">
import conn from "./connectivity.js";
import traj from "./trajectory3d.js";
const log = (s) => (document.getElementById("log").textContent += s + "\\n");
window.onerror = (m) => log("ERROR " + m);
class Model {
  constructor(s) { this.s = s; this.saved = 0; }
  get(k) { return this.s[k]; } set(k, v) { this.s[k] = v; } save_changes() { this.saved++; } on() {} off() {}
}
const drag = (canvas, path) => {
  const r = canvas.getBoundingClientRect();
  path.forEach(([type, x, y]) => canvas.dispatchEvent(new PointerEvent(type,
    {clientX: r.left + x, clientY: r.top + y, button: 0, pointerId: 1, bubbles: true})));
};
try {
  const n = 20, w = new Float32Array(n * n).map((_, i) => (i % n < 16 ? 1 : -1) * ((i * 7) % 5) / 4);
  const m1 = new Model({n, weights: new DataView(w.buffer), n_exc: 16, dale_ratio: 0.8,
    mask: new Array(n * n).fill(1), paint_mode: true, brush: 0, size: 200});
  conn.render({model: m1, el: document.getElementById("a")});
  // 10 px E/I strip, then 10 px per entry: drag down column 3 from row 2 to row 9
  drag(document.querySelector("#a canvas"),
    [["pointerdown", 45, 35], ["pointermove", 45, 105], ["pointerup", 45, 105]]);
  const cut = [];
  m1.get("mask").forEach((v, i) => { if (!v) cut.push(`${Math.floor(i / n)},${i % n}`); });
  log(`cut ${cut.join(" ")} saved ${m1.saved}`);
  const p = new Float32Array(2 * 50 * 3).map((_, i) => Math.sin(i / 7));
  const m2 = new Model({points: new DataView(p.buffer), n_lines: 2, n_steps: 50, colors: ["red", "blue"],
    labels: ["L", "R"], axis_labels: ["PC1", "PC2", "PC3"], title: "", yaw: 0.5, pitch: 0.25,
    width: 300, height: 200});
  traj.render({model: m2, el: document.getElementById("b")});
  drag(document.querySelector("#b canvas"),
    [["pointerdown", 100, 100], ["pointermove", 150, 120], ["pointerup", 150, 120]]);
  log(`yaw ${m2.get("yaw").toFixed(3)} pitch ${m2.get("pitch").toFixed(3)} saved ${m2.saved}`);
  log("done");
} catch (e) { log("ERROR " + e.stack); }
</script></body></html>"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium): no browser check")
def test_bundles_render_and_respond_in_chromium(tmp_path):
    for name in WIDGETS:
        shutil.copy(STATIC / f"{name}.js", tmp_path)
    (tmp_path / "index.html").write_text(BROWSER_PAGE, encoding="utf-8")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=800,800", "--dump-dom",
             f"http://127.0.0.1:{server.server_address[1]}/index.html"],
            capture_output=True, text=True, timeout=120,
        )
    finally:
        server.shutdown()
        server.server_close()
    found = re.search(r'<pre id="log">(.*?)</pre>', result.stdout, re.S)
    assert found, result.stdout[-2000:] + result.stderr[-2000:]
    log = html.unescape(found.group(1))
    assert "ERROR" not in log and log.strip().endswith("done"), log
    # the drag cut column 3 (pre) for rows (post) 2..9 and sent the mask once
    assert "cut " + " ".join(f"{r},3" for r in range(2, 10)) + " saved 1" in log, log
    # 50 px right and 20 px down at 0.01 rad/px
    assert "yaw 1.000 pitch 0.450 saved 1" in log, log


# ---------------------------------------------------------------------------- ConnectivityEditor
def test_editor_set_weights_sends_float32_matrix_in_one_message():
    W = np.arange(25, dtype=np.float64).reshape(5, 5) - 12.0
    editor = ConnectivityEditor()
    sent = record_messages(editor)
    editor.set_weights(W, dale_ratio=0.8)
    assert len(sent) == 1
    msg, buffers = sent[0]
    assert msg["method"] == "update"
    state = msg["state"]
    assert state["n"] == 5 and state["n_exc"] == 4 and state["dale_ratio"] == 0.8
    assert state["mask"] == [1] * 25
    assert msg["buffer_paths"] == [["weights"]] and len(buffers) == 1
    shown = np.frombuffer(bytes(buffers[0]), dtype="<f4").reshape(5, 5)
    np.testing.assert_array_equal(shown, W.astype(np.float32))  # row-major W[post, pre]
    np.testing.assert_array_equal(editor.weights_array(), W.astype(np.float32))


def test_editor_without_dale_has_no_excitatory_count():
    editor = ConnectivityEditor(np.eye(3))
    assert editor.dale_ratio is None and editor.n_exc is None
    editor.set_weights(np.eye(3), dale_ratio=1.0)
    assert editor.n_exc == 3


def test_editor_mask_accepts_flat_nested_and_arrays():
    editor = ConnectivityEditor(np.ones((3, 3)))
    editor.mask = [[1, 0, 1], [1, 1, 0], [0, 1, 1]]
    assert editor.mask == [1, 0, 1, 1, 1, 0, 0, 1, 1]
    editor.mask = np.eye(3, dtype=bool)
    assert editor.mask == [1, 0, 0, 0, 1, 0, 0, 0, 1]
    editor.mask = [1.0] * 9
    assert editor.mask == [1] * 9
    m = editor.mask_array()
    assert m.dtype == np.float32 and m.shape == (3, 3)


@pytest.mark.parametrize("bad,message", [
    ([1, 0, 1], r"3 entries but the editor shows n=3 units: give 9 values"),
    ([[1, 0], [0, 1]], r"4 entries .* n=3"),
    ([1, 0, 2, 1, 1, 1, 1, 1, 1], r"only 0 \(no connection\) and 1 \(connection\); 1 entries are other values, e.g. 2"),
    ([[1, 0, 1], [1]], r"not a rectangular numeric array"),
    (np.ones((2, 3)), r"must be square"),
    (np.ones((1, 3, 3)), r"shape \(1, 3, 3\)"),
    ([0.5] * 9, r"only 0 \(no connection\) and 1"),
])
def test_editor_mask_validation_errors_are_clear(bad, message):
    editor = ConnectivityEditor(np.ones((3, 3)))
    editor.mask = [0] * 9
    with pytest.raises(traitlets.TraitError, match=message):
        editor.mask = bad
    assert editor.mask == [0] * 9  # unchanged


def test_editor_rejects_bad_arguments():
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        ConnectivityEditor(dale_raito=0.8)
    editor = ConnectivityEditor()
    with pytest.raises(ValueError, match=r"square \(N, N\)"):
        editor.set_weights(np.ones((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        editor.set_weights(np.full((2, 2), np.nan))
    with pytest.raises(traitlets.TraitError, match="dale_ratio"):
        editor.set_weights(np.ones((2, 2)), dale_ratio=1.5)
    with pytest.raises(traitlets.TraitError, match="brush"):
        editor.brush = 2


def test_editor_keeps_painted_mask_for_same_size_resets_for_new_size():
    editor = ConnectivityEditor(np.ones((4, 4)))
    from_frontend(editor, mask=[0] + [1] * 15)
    editor.set_weights(2 * np.ones((4, 4)))  # e.g. refreshed after training
    assert editor.mask[0] == 0
    editor.set_weights(np.ones((6, 6)))
    assert editor.n == 6 and editor.mask == [1] * 36
    editor.reset_mask()
    assert editor.mask == [1] * 36


def test_editor_set_mask_before_weights_sets_n():
    editor = ConnectivityEditor(mask=np.eye(4))
    assert editor.n == 4
    np.testing.assert_array_equal(editor.mask_array(), np.eye(4, dtype=np.float32))


def test_editor_frontend_update_with_bad_mask_is_refused():
    editor = ConnectivityEditor(np.ones((3, 3)))
    from_frontend(editor, mask=[0, 1])  # ipywidgets logs the TraitError
    assert editor.mask == [1] * 9
    with pytest.raises(traitlets.TraitError, match="2 entries"):
        editor.set_state({"mask": [0, 1]})


def test_editor_frontend_paint_toggle_and_brush_sync():
    editor = ConnectivityEditor(np.ones((3, 3)))
    from_frontend(editor, paint_mode=True, brush=1)
    assert editor.paint_mode is True and editor.brush == 1


# ---------------------------------------------------------------------------- Trajectory3D
def test_trajectory_set_sends_points_colors_labels_together():
    rng = np.random.default_rng(0)
    P = rng.normal(size=(4, 30, 3))
    view = Trajectory3D()
    sent = record_messages(view)
    view.set_trajectories(P, colors=["red", "red", "blue", "blue"], labels=["L", "L", "R", "R"])
    assert len(sent) == 1
    msg, buffers = sent[0]
    state = msg["state"]
    assert state["n_lines"] == 4 and state["n_steps"] == 30
    assert state["colors"] == ["red", "red", "blue", "blue"] and state["labels"] == ["L", "L", "R", "R"]
    assert msg["buffer_paths"] == [["points"]]
    shown = np.frombuffer(bytes(buffers[0]), dtype="<f4").reshape(4, 30, 3)
    np.testing.assert_array_equal(shown, P.astype(np.float32))
    np.testing.assert_array_equal(view.points_array(), P.astype(np.float32))


def test_trajectory_defaults_and_downsampling():
    view = Trajectory3D(np.zeros((3, MAX_STEPS * 2 + 7, 3)))
    assert view.colors[0] != view.colors[1] and view.labels == ["1", "2", "3"]
    assert view.n_steps <= MAX_STEPS
    P = np.cumsum(np.ones((1, 12000, 3)), axis=1)
    view.set_trajectories(P)
    shown = view.points_array()
    assert shown.shape[1] <= MAX_STEPS
    np.testing.assert_array_equal(shown[0, 0], P[0, 0])
    np.testing.assert_array_equal(shown[0, -1], P[0, -1])  # keeps the end point


def test_trajectory_validation():
    view = Trajectory3D()
    with pytest.raises(ValueError, match=r"\(n_lines, T, 3\)"):
        view.set_trajectories(np.zeros((2, 10, 2)))
    with pytest.raises(ValueError, match=f"at most {MAX_LINES} lines"):
        view.set_trajectories(np.zeros((MAX_LINES + 1, 10, 3)))
    with pytest.raises(ValueError, match="colors must have one entry per line"):
        view.set_trajectories(np.zeros((2, 10, 3)), colors=["red"])
    with pytest.raises(ValueError, match="labels must have one entry per line"):
        view.set_trajectories(np.zeros((2, 10, 3)), labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="NaN"):
        view.set_trajectories(np.full((1, 3, 3), np.nan))
    with pytest.raises(traitlets.TraitError, match="at most 20 lines"):
        view.n_lines = 21
    with pytest.raises(TypeError, match="unexpected keyword"):
        Trajectory3D(colours=["red"])


def test_trajectory_rotation_from_frontend():
    view = Trajectory3D(np.zeros((1, 5, 3)))
    from_frontend(view, yaw=1.25, pitch=-0.5)
    assert (view.yaw, view.pitch) == (1.25, -0.5)
    view.pitch = 3.0
    assert view.pitch == pytest.approx(np.pi / 2)


# ---------------------------------------------------------------------------- Must-show 3
def test_painted_mask_becomes_rec_connectivity_and_training_keeps_its_zeros():
    from psychrnn_widgets import Basic, PerceptualDiscrimination

    task = PerceptualDiscrimination(dt=10, tau=100, T=1000, N_batch=20, seed=0)
    N = 30
    network_params = dict(task.get_task_params(), name="painted", N_rec=N, dale_ratio=0.8, seed=0)

    editor = ConnectivityEditor()
    shown = Basic(dict(network_params, name="shown"))
    editor.set_model(shown)
    assert editor.n == N and editor.n_exc == 24

    # what a drag in paint mode sends: the whole mask, flat row-major, at mouse release
    rng = np.random.default_rng(3)
    painted = (rng.random((N, N)) > 0.3).astype(int)
    painted[:5, 24:] = 0  # cut inhibition onto the first five units
    painted[10, :] = 0  # and every input of unit 10
    from_frontend(editor, mask=painted.ravel().tolist())
    np.testing.assert_array_equal(editor.mask_array(), painted.astype(np.float32))

    model = Basic(dict(network_params, rec_connectivity=editor.mask_array()))
    np.testing.assert_array_equal(model.get_weights()["rec_connectivity"], painted)
    before = model.get_weights()["W_rec"]
    assert np.all(before[painted == 0] == 0)

    model.train(task, {"training_iters": 200, "learning_rate": 0.01, "verbosity": False})
    after = model.get_weights()["W_rec"]
    cut = painted == 0
    assert np.all(after[cut] == 0.0), "training changed entries the painted mask cut"
    assert not np.allclose(after[~cut], before[~cut]), "the network did not train"
    assert np.all(after[:, :24] >= 0) and np.all(after[:, 24:] <= 0)  # Dale's column signs still hold

    editor.set_model(model)  # showing the trained weights keeps the painted mask
    np.testing.assert_array_equal(editor.mask_array(), painted.astype(np.float32))
    np.testing.assert_array_equal(editor.weights_array(), after)
    shown.destruct()
    model.destruct()
