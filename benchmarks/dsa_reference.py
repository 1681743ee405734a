#!/usr/bin/env python
"""Our ``analysis.dsa_distance`` against the authors' ``dsa-metric`` on the same inputs.

``dsa-metric`` (Ostrow et al. 2023; PyPI ``dsa-metric``) needs PyTorch (with its CUDA
wheels, about 6 GB on Linux), POT, PyDMD, scikit-learn and more, so it is no dependency of
this package: it lives in a virtual environment of its own, created on first use and
cached (default ``~/.cache/psychrnn_widgets/dsa-venv``), and this same file runs there as
a *worker* (``--worker in.npz out.json``) that imports only ``DSA`` and NumPy.

For every case (pairs of activity arrays, trials x time x units) both sides compute:

* the reduced-rank (HAVOK) DMD operator of each array at the same ``n_delays`` and
  ``rank``: reported is the largest difference of their sorted eigenvalues (the operators
  themselves agree up to the sign of each coordinate);
* the angular DSA distance (``score_method='angular'``, ``iters`` Adam steps at ``lr``,
  the reference's defaults 1500 and 5e-3), and ours (L-BFGS over the orthogonal group from
  several starts).  Both minimise over orthogonal maps, so the smaller value is the better
  optimum; reported is ours - theirs.

Cases: a line attractor and its rotated copy; line attractors with different noise and
read-out; a line attractor against a pair of point attractors; two random rate
networks; the shipped trained ContextDependentIntegration network against an untrained
one of the same size (its rates on 60 noise-free trials).

    python benchmarks/dsa_reference.py              # builds/reuses the venv, prints a table
    python benchmarks/dsa_reference.py --venv /path --json results.json
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "psychrnn_widgets" / "dsa-venv"
DSA_SPEC = "dsa-metric==2.0.2"


# ============================================================================ the worker (in the venv)
def worker(inputs, output):
    """Run the reference on every case of ``inputs`` (an .npz) and write a JSON list of results."""
    import numpy as np
    import torch
    from DSA import DSA
    from DSA.dmd import DMD

    torch.manual_seed(0)
    data = np.load(inputs)
    meta = json.loads(str(data["meta"]))
    results = []
    for i, case in enumerate(meta):
        X, Y = data[f"x{i}"].astype(np.float32), data[f"y{i}"].astype(np.float32)
        eig = []
        for Z in (X, Y):
            dmd = DMD(Z, n_delays=case["n_delays"], rank=case["rank"])
            dmd.fit()
            values = np.linalg.eigvals(dmd.A_v.detach().cpu().numpy().astype(np.float64))
            eig.append(values[np.argsort(-np.abs(values), kind="stable")].tolist())
        started = time.perf_counter()
        dsa = DSA(X, Y, n_delays=case["n_delays"], rank=case["rank"], score_method="angular",
                  iters=case["iters"], lr=case["lr"])
        score = float(dsa.fit_score())
        results.append({"score": score, "seconds": time.perf_counter() - started,
                        "eig_a": [[v.real, v.imag] for v in eig[0]], "eig_b": [[v.real, v.imag] for v in eig[1]]})
    Path(output).write_text(json.dumps(results))


# ============================================================================ this side
def ensure_venv(venv):
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import DSA, torch"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"creating {venv} with {DSA_SPEC} (PyTorch and its CUDA wheels: several GB, minutes)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", DSA_SPEC], check=True)
    subprocess.run(probe, check=True)
    return python


def _systems():
    """The cases: ``(name, X, Y, n_delays, rank)`` (the synthetic systems of tests/synthetic_systems.py)."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "tests"))
    from synthetic_systems import latent, observe

    def rate_network(seed, n=20, trials=30, T=60):
        rng = np.random.default_rng(seed)
        W = 1.2 * rng.standard_normal((n, n)) / np.sqrt(n)
        x = rng.standard_normal((trials, n))
        out = []
        for _ in range(T):
            x = 0.9 * x + 0.1 * (np.tanh(x) @ W.T)
            out.append(np.tanh(x))
        return np.stack(out, axis=1)

    q, r = np.linalg.qr(np.random.default_rng(7).standard_normal((10, 10)))
    line = observe(latent("line", 0), 10)
    cases = [
        ("line vs its rotated copy", line, line @ (q * np.sign(np.diag(r))), 5, 4),
        ("line vs line (other trials, read-out)", line, observe(latent("line", 3, noise=0.01), 11), 5, 4),
        ("line vs two point attractors", line, observe(latent("bistable", 2), 10), 5, 4),
        ("two point attractors vs themselves (other read-out)", observe(latent("bistable", 2), 10),
         observe(latent("bistable", 4), 11), 5, 4),
        ("two random rate networks", rate_network(1), rate_network(2), 5, 6),
    ]
    network = ROOT / "psychrnn_widgets" / "data" / "cdi_network.npz"
    if network.exists():
        from psychrnn_widgets import analysis
        from psychrnn_widgets.analysis._activity import task_inputs
        from psychrnn_widgets.tasks import ContextDependentIntegration

        x, _ = task_inputs(ContextDependentIntegration(seed=0), 60, 0, "benchmark")
        trained = analysis.simulate(network, x)[2]
        rng = np.random.default_rng(0)
        n = trained.shape[2]
        untrained = dict(W_in=rng.uniform(0, 1, (n, 5)), W_rec=1.1 * rng.standard_normal((n, n)) / np.sqrt(n),
                         W_out=rng.standard_normal((2, n)), b_rec=np.zeros(n), b_out=np.zeros(2),
                         init_state=0.1 * rng.standard_normal((1, n)), dt=10.0, tau=100.0)
        cases.append(("CDI network vs untrained (rates)", trained, analysis.simulate(untrained, x)[2], 5, 10))
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--iters", type=int, default=1500, help="the reference's Adam steps (its default 1500)")
    parser.add_argument("--lr", type=float, default=5e-3, help="the reference's learning rate (its default 5e-3)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.worker:
        worker(*args.worker)
        return 0
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from psychrnn_widgets import analysis

    python = ensure_venv(args.venv)
    cases = _systems()
    with tempfile.TemporaryDirectory() as folder:
        inputs, output = Path(folder) / "in.npz", Path(folder) / "out.json"
        meta = [dict(name=name, n_delays=d, rank=k, iters=args.iters, lr=args.lr) for name, _, _, d, k in cases]
        arrays = {f"x{i}": case[1] for i, case in enumerate(cases)}
        arrays.update({f"y{i}": case[2] for i, case in enumerate(cases)})
        np.savez(inputs, meta=np.str_(json.dumps(meta)), **arrays)
        started = time.perf_counter()
        subprocess.run([str(python), str(HERE), "--worker", str(inputs), str(output)], check=True,
                       env={**os.environ, "PYTHONPATH": ""})
        print(f"reference: {time.perf_counter() - started:.0f} s for {len(cases)} cases (with start-up)")
        reference = json.loads(output.read_text())
    rows = []
    for (name, X, Y, n_delays, rank), theirs in zip(cases, reference):
        started = time.perf_counter()
        ours = analysis.dsa_distance(X, Y, n_delays=n_delays, rank=rank)
        seconds = time.perf_counter() - started
        eig_gap = 0.0
        for fit, key in ((ours.dmd_a, "eig_a"), (ours.dmd_b, "eig_b")):
            ref = np.array([complex(*v) for v in theirs[key]])
            mine = fit.eigenvalues
            eig_gap = max(eig_gap, float(np.max(np.abs(np.sort_complex(mine) - np.sort_complex(ref)))))
        rows.append(dict(case=name, n_delays=n_delays, rank=rank, ours=ours.value, theirs=theirs["score"],
                         difference=ours.value - theirs["score"], eigenvalue_difference=eig_gap,
                         seconds_ours=seconds, seconds_theirs=theirs["seconds"]))
    print(f"\n{'case':52s} {'ours':>8s} {'dsa-metric':>10s} {'ours-ref':>9s} {'max|eig diff|':>13s} "
          f"{'s ours':>7s} {'s ref':>7s}")
    for row in rows:
        print(f"{row['case']:52s} {row['ours']:8.4f} {row['theirs']:10.4f} {row['difference']:+9.4f} "
              f"{row['eigenvalue_difference']:13.2e} {row['seconds_ours']:7.2f} {row['seconds_theirs']:7.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
