"""Fixed and slow points of a trained network (Sussillo & Barak 2013), in TensorFlow 2.

The network is the map ``x_{t+1} = F(x_t, u)`` of the model's own noiseless step
(:meth:`~psychrnn_widgets.models.rnn.RNN.next_state`: nothing here restates the update
maths).  For a constant input ``u*`` the speed

    q(x) = 1/2 || F(x, u*) - x ||^2          (state units squared, per step)

is zero at fixed points and small at slow points.  States are the model's *flat* states
(:attr:`~psychrnn_widgets.models.rnn.RNN.state_size` values: ``N_rec`` for ``Basic`` and
``GRU``, hidden and cell side by side for an ``LSTM``); "N_rec" below means that size.
:func:`find_fixed_points`:

1. starts from many states (``initial_states``, e.g. :func:`sample_states` of states
   visited on trials, plus optional noise);
2. minimises q for all of them at once with Adam (a compiled ``tf.function``, chunks of
   ``chunk`` iterations, learning rate decayed geometrically to ``learning_rate *
   final_lr_ratio``), stopping early when every candidate is below ``q_tolerance``;
3. polishes with up to ``newton_steps`` Newton steps ``x <- x - (J - I)^{-1} (F(x) - x)``,
   each kept only where it lowers q (exact in one step for a linear network, quadratic
   near a true fixed point, harmless at slow points);
4. keeps the candidates with ``q < q_tolerance``, removes duplicates (candidates closer than
   ``unique_tolerance`` to a kept one with lower q), and computes at each point the
   Jacobian ``dF/dx`` by automatic differentiation (``batch_jacobian``) and its
   eigenvalues (NumPy, float64).  A point is *stable* when every eigenvalue has modulus
   < 1 (a discrete-time map); its *unstable directions* are the eigenvectors of the
   eigenvalues of modulus > 1.

**Stopping.**  The work is cut into pieces of about :data:`SLICE_SECONDS` each -- Adam
chunks shrink until one takes that long, Newton steps and the final analysis run a few
states at a time -- and ``should_stop()`` is checked (and ``progress`` called) between
pieces, so a search on a 256-unit network returns within a second of the request.  A
stopped search skips what is left of the polishing and returns the points analysed so
far (lowest q first), with ``stopped=True``.

TensorFlow is imported only when these functions run.
"""
import time
from dataclasses import dataclass, field

import numpy as np

from ._inputs import array, declared, fail
from ._results import AnalysisResult
from .pca import PCA, pca

__all__ = ["FixedPoints", "find_fixed_points", "sample_states", "jacobians", "speed", "as_tf_model", "state_size"]

#: longest stretch of work (seconds) between two checks of ``should_stop`` in :func:`find_fixed_points`
SLICE_SECONDS = 0.1


def _tf():
    from ..models._tf import tf

    return tf


def as_tf_model(source, params=None):
    """A TensorFlow model with ``next_state`` for ``source``.

    A model is returned as is; a weights dict (``get_weights()``, ``load_weights``), a
    weight file or a simulator becomes a new network of the class its weights name (a
    frozen copy, built through the model catalog by
    :func:`~psychrnn_widgets.models.loading.load_model`: use
    ``as_tf_model(model.get_weights())`` to analyse a model that keeps training).
    ``params`` gives ``dt``/``tau`` (ms) for weights that do not carry them.
    """
    if hasattr(source, "next_state") and not hasattr(source, "run_trials"):
        return source
    from ._source import as_simulator

    sim = as_simulator(source, params)
    from ..models.loading import load_model

    tau = sim.tau if sim.tau is not None else 100.0
    dt = sim.dt if sim.dt is not None else (sim.alpha * tau if sim.alpha is not None else 10.0)
    network_params = {"dt": dt, "tau": tau}
    if sim.has_rate_weights:
        network_params["transfer_function"] = sim.transfer_function_name or "relu"
    return load_model(sim.weights, network_params, name="fixed_point_model")


def state_size(model):
    """Values in ``model``'s flat dynamical state (``N_rec``; ``2 N_rec`` for an LSTM)."""
    return int(getattr(model, "state_size", model.N_rec))


def sample_states(states, n, noise_scale=0.0, seed=0):
    """``n`` initial states drawn from visited ``states`` (..., N_rec), plus Gaussian noise.

    Rows are drawn without replacement when there are enough of them.  ``states``: finite,
    at least one; ``n``: 1 to 100,000; ``noise_scale``: standard deviation of the added
    noise (state units), >= 0.  Returns float32 (n, N_rec).
    """
    where = "sample_states"
    if n is None:
        fail(where, "n", "is needed: how many states to draw", n, "an integer in [1, 100000]")
    n, noise_scale, seed = declared(where, n=n, noise_scale=noise_scale, seed=seed)
    states = array(states, "states", where, min_ndim=1)
    flat = states.reshape(-1, states.shape[-1])
    rng = np.random.default_rng(seed)
    rows = rng.choice(flat.shape[0], size=n, replace=flat.shape[0] < n)
    chosen = flat[rows]
    if noise_scale:
        chosen = chosen + noise_scale * rng.standard_normal(chosen.shape)
    return chosen.astype(np.float32)


def _inputs(model, inputs, n, where="find_fixed_points"):
    """``(u (N_in,), U (n, N_in))`` float32 from ``inputs`` (None: zeros), checked (finite, N_in values)."""
    if inputs is None:
        u = np.zeros(model.N_in, np.float32)
    else:
        u = array(inputs, "inputs", where, min_ndim=0)
        if u.size != model.N_in or (u.ndim > 1 and max(u.shape) != u.size):
            fail(where, "inputs", f"must have shape (N_in={model.N_in},), got {np.shape(inputs)}", inputs,
                 f"an array of shape ({model.N_in},)")
        u = u.reshape(-1).astype(np.float32)
    return u, np.tile(u, (n, 1))


def _states(states, model, where, name="states"):
    """``states`` (K, S) float32 (S: the flat state's size), finite and non-empty, or ``ParameterError``."""
    return array(states, name, where, shape=("K", f"state_size={state_size(model)}")).astype(np.float32)


def speed(model, states, inputs=None):
    """q(x) = 1/2 ||F(x, u) - x||^2 at each of ``states`` (K, N_rec) with input ``inputs`` (N_in,); float64 (K,)."""
    tf = _tf()
    model = as_tf_model(model)
    states = _states(states, model, "speed")
    _, U = _inputs(model, inputs, states.shape[0], "speed")
    x = tf.constant(states)
    step = model.next_state(x, tf.constant(U)).numpy().astype(np.float64)
    return 0.5 * np.sum((step - states.astype(np.float64)) ** 2, axis=1)


def _jacobian_function(tf, model):
    """A compiled ``(states (K, N_rec), inputs (K, N_in)) -> dF/dx (K, N_rec, N_rec)`` (one trace per model)."""
    from ..models._tf import GraphFunction

    def batch_jacobian(x, U):
        with tf.GradientTape() as tape:
            tape.watch(x)
            step = model.next_state(x, U)
        return tape.batch_jacobian(step, x)

    specs = [tf.TensorSpec([None, state_size(model)], tf.float32), tf.TensorSpec([None, model.N_in], tf.float32)]
    return GraphFunction(batch_jacobian, input_signature=specs)


def _evaluate_jacobians(tf, function, model, states, inputs):
    states = np.asarray(states, np.float32)
    _, U = _inputs(model, inputs, states.shape[0])
    return function(tf.constant(states), tf.constant(U)).numpy().astype(np.float64)


def jacobians(model, states, inputs=None):
    """Jacobians dF/dx (K, N_rec, N_rec) of the model's step at ``states`` (K, N_rec), float64.

    Row ``i`` holds ``dF_i/dx_j``; ``inputs`` (N_in,) is held during the step (default
    zeros).  Automatic differentiation (``batch_jacobian``) of ``model.next_state``.
    """
    tf = _tf()
    model = as_tf_model(model)
    states = _states(states, model, "jacobians")
    _inputs(model, inputs, 1, "jacobians")
    return _evaluate_jacobians(tf, _jacobian_function(tf, model), model, states, inputs)


@dataclass(repr=False)
class FixedPoints(AnalysisResult):
    """Fixed (and slow) points found by :func:`find_fixed_points`.

    Attributes:
        points (K, N_rec): the points (pre-activation states), lowest q first.
        q (K,): their speed q (state units squared per step).
        jacobians (K, N_rec, N_rec): dF/dx at each point (row i: dF_i/dx_j).
        eigenvalues (K, N_rec) complex: Jacobian eigenvalues, largest modulus first.
        eigenvectors (K, N_rec, N_rec) complex: ``eigenvectors[k][:, i]`` goes with ``eigenvalues[k, i]``.
        stable (K,) bool: every |eigenvalue| < 1.
        inputs (N_in,): the constant input u*.
        q_tolerance, unique_tolerance (float); iterations (int, Adam steps run);
        initial_states (M, N_rec) and candidate_q (M,): where the search started and the q
        each candidate reached.
        stopped (bool): the search was stopped (``should_stop``) before it finished: the
        points are those analysed by then, polishing may have been cut short.
        pca: the :class:`~psychrnn_widgets.analysis.pca.PCA` to draw with (None: fitted on
        ``trajectories`` or on the points); trajectories (L, T, N_rec) or None: states to
        draw behind the points.
    """

    points: np.ndarray
    q: np.ndarray
    jacobians: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    stable: np.ndarray
    inputs: np.ndarray
    q_tolerance: float
    unique_tolerance: float
    iterations: int
    initial_states: np.ndarray
    candidate_q: np.ndarray
    pca: PCA = None
    trajectories: np.ndarray = field(default=None)
    stopped: bool = False
    figsize = (4.5, 4.0)

    def __len__(self):
        return self.points.shape[0]

    @property
    def max_modulus(self):
        """Largest |eigenvalue| at each point (K,)."""
        return np.abs(self.eigenvalues[:, 0]) if len(self) else np.zeros(0)

    def n_unstable_modes(self):
        """Number of eigenvalues with modulus > 1 at each point (K,) int."""
        return np.sum(np.abs(self.eigenvalues) > 1.0, axis=1)

    def unstable_directions(self):
        """``(index (K_u,), direction (K_u, N_rec))``: the real unit eigenvector of the most unstable mode.

        For a complex eigenvalue the real part of its eigenvector is used.
        """
        index = np.flatnonzero(~self.stable)
        directions = np.real(self.eigenvectors[index, :, 0]) if index.size else np.zeros((0, self.points.shape[1]))
        norms = np.linalg.norm(directions, axis=1, keepdims=True)
        return index, directions / np.where(norms > 0, norms, 1.0)

    def projection(self):
        """The :class:`PCA` used for drawing (``pca``, else fitted on ``trajectories``, else on the points)."""
        if self.pca is not None:
            return self.pca
        if self.trajectories is not None:
            return pca(self.trajectories, 2)
        return pca(self.points if len(self) > 1 else np.zeros((2, self.points.shape[1])), 2)

    def project(self, projection=None):
        """The points on the components of ``projection`` (a :class:`PCA`; default :meth:`projection`), (K, k)."""
        return (projection or self.projection()).transform(self.points)

    def direction_segments(self, projection=None, scale=1.0):
        """Line segments along the unstable directions, (K_u, 2, k): ``point ± scale * direction``."""
        projection = projection or self.projection()
        index, directions = self.unstable_directions()
        ends = np.stack([self.points[index] - scale * directions, self.points[index] + scale * directions], axis=1)
        return projection.transform(ends)

    def to_arrays(self):
        arrays = super().to_arrays()
        for key in ("eigenvalues", "eigenvectors"):
            value = arrays.pop(key)
            arrays[key + "_real"], arrays[key + "_imag"] = value.real, value.imag
        return arrays

    def plot(self, ax):
        projection = self.projection()
        if self.trajectories is not None:
            for line in projection.transform(self.trajectories):
                ax.plot(line[:, 0], line[:, 1], color="0.7", lw=0.8)
        xy = self.project(projection)
        if len(self):
            ax.plot(xy[self.stable, 0], xy[self.stable, 1], "o", color="k", ms=6, label="stable")
            ax.plot(xy[~self.stable, 0], xy[~self.stable, 1], "o", mfc="white", mec="k", ms=6, label="unstable")
            for segment in self.direction_segments(projection):
                ax.plot(segment[:, 0], segment[:, 1], "-", color="#d62728", lw=1)
            ax.legend(fontsize=7)
        ax.set_xlabel("PC1")
        ax.set_ylabel("PC2")
        ax.set_title(f"{len(self)} fixed points (q < {self.q_tolerance:g})", fontsize=9)


def _speed_function(tf, model):
    """A compiled ``(states (K, N_rec), inputs (K, N_in)) -> q (K,)`` (any K: one trace per model)."""
    from ..models._tf import GraphFunction

    def q_of(states, U):
        return 0.5 * tf.reduce_sum(tf.square(model.next_state(states, U) - states), axis=1)

    specs = [tf.TensorSpec([None, state_size(model)], tf.float32), tf.TensorSpec([None, model.N_in], tf.float32)]
    return GraphFunction(q_of, input_signature=specs)


def _compiled_search(tf, model, x, U, optimizer):
    """A compiled ``run(n_steps) -> q (M,)``: ``n_steps`` Adam steps on the states ``x`` (a Variable (M, N_rec))."""
    from ..models._tf import GraphFunction

    def q_of(states):
        return 0.5 * tf.reduce_sum(tf.square(model.next_state(states, U) - states), axis=1)

    def run(n_steps):
        def body(i):
            with tf.GradientTape() as tape:
                total = tf.reduce_sum(q_of(x))
            optimizer.apply([tape.gradient(total, x)])
            return (i + 1,)

        tf.while_loop(lambda i: i < n_steps, body, (tf.constant(0),))
        return q_of(x)

    return GraphFunction(run, input_signature=[tf.TensorSpec([], tf.int32)])


def find_fixed_points(model, initial_states, inputs=None, *, q_tolerance=1e-8, unique_tolerance=1e-3,
                      max_iterations=5000, learning_rate=0.01, final_lr_ratio=1e-3, chunk=100, newton_steps=8,
                      progress=None, should_stop=None):
    """Find fixed and slow points of ``model`` under the constant input ``inputs``.

    Args:
        model: a model with ``next_state`` (``Basic`` or any RNN subclass), or a weights
            dict / weight file (see :func:`as_tf_model`).
        initial_states: (M, S) starting states, finite (e.g. :func:`sample_states`); S is the
            flat state's size, ``model.state_size`` (``N_rec``; ``2 N_rec`` for an LSTM:
            hidden and cell).
        inputs: u* (N_in,), finite, default zeros (no stimulus).
        q_tolerance: keep points with q below this, > 0 (raise it to keep slow points).
        unique_tolerance: Euclidean distance under which two points are one, >= 0.
        max_iterations: most Adam steps (1 to 10^7); ``learning_rate`` the first step size
            (state units, > 0), decayed geometrically to ``learning_rate * final_lr_ratio``
            (ratio in (0, 1]).
        chunk: most Adam steps per compiled call (fewer when a call would take longer than
            :data:`SLICE_SECONDS`); progress and stop checks come between calls.
        newton_steps: Newton polishing steps after Adam (0 for none, at most 1000).
        progress: ``progress(fraction, message)``, called between pieces of work (any thread).
        should_stop: ``should_stop() -> bool``, checked between pieces of work (see the
            module docstring: a stopped search returns within about a second).

    Returns:
        :class:`FixedPoints`.

    Raises:
        ParameterError: naming the argument (shapes, NaN, empty ``initial_states``, a
            number outside its declared range).
    """
    where = "find_fixed_points"
    (q_tolerance, unique_tolerance, max_iterations, learning_rate, final_lr_ratio, chunk, newton_steps, progress,
     should_stop) = declared(where, q_tolerance=q_tolerance, unique_tolerance=unique_tolerance,
                             max_iterations=max_iterations, learning_rate=learning_rate,
                             final_lr_ratio=final_lr_ratio, chunk=chunk, newton_steps=newton_steps, progress=progress,
                             should_stop=should_stop)
    tf = _tf()
    from ..training.optim import Adam

    model = as_tf_model(model)
    x0 = _states(initial_states, model, where, "initial_states")
    u, U = _inputs(model, inputs, x0.shape[0])
    report = progress or (lambda fraction, message: None)
    stop = should_stop or (lambda: False)
    U = tf.constant(U)
    x = tf.Variable(x0)
    optimizer = Adam([x], learning_rate=learning_rate)
    search = _compiled_search(tf, model, x, U, optimizer)
    q_of = _speed_function(tf, model)
    jacobian_of = _jacobian_function(tf, model)

    # 1-2. Adam, in compiled calls of at most `chunk` steps and about SLICE_SECONDS each
    n_chunks = max(1, int(np.ceil(max_iterations / chunk)))
    decay = final_lr_ratio ** (1.0 / max(1, n_chunks - 1))  # per `chunk` steps
    iterations, steps_per_call = 0, chunk
    report(0.0, f"minimising q from {x0.shape[0]} states")
    q = np.full(x0.shape[0], np.inf, np.float32)  # not computed yet
    stopped = stop()  # asked before the search began: nothing to run
    while iterations < max_iterations and not stopped:
        steps = min(steps_per_call, max_iterations - iterations)
        started = time.perf_counter()
        q = search(tf.constant(steps, tf.int32)).numpy()
        elapsed = time.perf_counter() - started
        iterations += steps
        optimizer.learning_rate.assign(learning_rate * decay ** (iterations / chunk))
        if elapsed > SLICE_SECONDS and steps > 1:  # the first call also traces: shrink at most 10-fold at once
            steps_per_call = max(1, int(steps * max(0.1, 0.8 * SLICE_SECONDS / elapsed)))
        report(0.9 * iterations / max_iterations, f"Adam step {iterations}: median q {np.median(q):.2g}")
        if np.all(q < q_tolerance):
            break
        if stop():
            stopped = True
            break
    states = x.numpy()
    q = q.astype(np.float64)  # the last call's q is that of these states

    # 3. Newton polishing, a block of states at a time
    for step in range(newton_steps if not stopped else 0):
        improved = False
        for rows in _timed_slices(len(states), 8):
            if stop():
                stopped = True
                break
            improved |= _newton_block(tf, model, jacobian_of, q_of, states, q, rows, u, U)
            report(0.9 + 0.05 * (step + rows.stop / len(states)) / newton_steps,
                   f"Newton step {step + 1}: {rows.stop} of {len(states)} states, median q {np.median(q):.2g}")
        if stopped or not improved:
            break

    # 4. keep the unique slow points and analyse them, a few at a time
    candidate_q = q.copy()
    keep = np.flatnonzero(q < q_tolerance)
    keep = keep[np.argsort(q[keep], kind="stable")]
    unique = []
    for count, i in enumerate(keep):
        if count % 256 == 255 and stop():
            stopped = True
            break
        if not unique or np.min(np.linalg.norm(states[unique] - states[i], axis=1)) >= unique_tolerance:
            unique.append(i)
    N = state_size(model)
    jacobian_parts, value_parts, vector_parts = [], [], []
    analysed = 0
    report(0.97, f"{len(unique)} points: Jacobians")
    for rows in _timed_slices(len(unique), 1):
        if stopped or stop():
            stopped = True
            break
        J = _evaluate_jacobians(tf, jacobian_of, model, states[np.asarray(unique)[rows]].astype(np.float64), u)
        values, vectors = np.linalg.eig(J)
        order = np.argsort(-np.abs(values), axis=1, kind="stable")
        jacobian_parts.append(J)
        value_parts.append(np.take_along_axis(values, order, axis=1))
        vector_parts.append(np.take_along_axis(vectors, order[:, None, :], axis=2))
        analysed = rows.stop
        report(0.97 + 0.03 * analysed / len(unique), f"{analysed} of {len(unique)} points analysed")
    unique = unique[:analysed]
    points = states[unique].astype(np.float64)
    if jacobian_parts:
        J, values, vectors = (np.concatenate(parts) for parts in (jacobian_parts, value_parts, vector_parts))
    else:
        J, values, vectors = np.zeros((0, N, N)), np.zeros((0, N), complex), np.zeros((0, N, N), complex)
    stable = np.all(np.abs(values) < 1.0, axis=1)
    summary = f"{len(unique)} fixed points ({int(stable.sum())} stable)"
    report(1.0, summary + (" (stopped early)" if stopped else ""))
    return FixedPoints(points=points, q=q[unique], jacobians=J, eigenvalues=values, eigenvectors=vectors,
                       stable=stable, inputs=u.astype(np.float64), q_tolerance=float(q_tolerance),
                       unique_tolerance=float(unique_tolerance), iterations=iterations,
                       initial_states=x0.astype(np.float64), candidate_q=candidate_q, stopped=stopped)


def _timed_slices(n, size):
    """Slices covering ``range(n)``; each next one sized so that the work on it takes about :data:`SLICE_SECONDS`.

    The time of the loop body between two slices is measured (a generator resumes when
    the body is done), starting with ``size`` items and at most doubling each time.
    """
    begin = 0
    while begin < n:
        end = min(n, begin + size)
        started = time.perf_counter()
        yield slice(begin, end)
        per_item = (time.perf_counter() - started) / (end - begin)
        size = max(1, min(2 * size, int(SLICE_SECONDS / per_item) if per_item > 0 else 2 * size))
        begin = end


def _newton_block(tf, model, jacobian_of, q_of, states, q, rows, u, U):
    """One Newton step for ``states[rows]`` (in place where it lowers q); True if any state improved."""
    block = states[rows]
    J = _evaluate_jacobians(tf, jacobian_of, model, block, u)
    residual = model.next_state(tf.constant(block), U[:block.shape[0]]).numpy().astype(np.float64) - block
    eye = np.eye(state_size(model))
    try:
        delta = np.linalg.solve(J - eye, -residual[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        delta = np.stack([np.linalg.lstsq(Jk - eye, -r, rcond=None)[0] for Jk, r in zip(J, residual)])
    trial = (block + delta).astype(np.float32)
    q_trial = q_of(tf.constant(trial), U[:block.shape[0]]).numpy().astype(np.float64)
    better = np.isfinite(q_trial) & (q_trial < q[rows])
    index = np.arange(rows.start, rows.stop)[better]
    states[index], q[index] = trial[better], q_trial[better]
    return bool(better.any())
