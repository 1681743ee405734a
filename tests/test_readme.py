"""The README is executed: every ```python block, in order, in one fresh process; the numbers its comments state hold.

Issue 13: a code block whose comment promises a result must reach it as written.  The
blocks run as one script (later blocks use the names earlier ones define, as a reader
running them in a notebook would) in a temporary directory, with the dashboard's
``PSYCHRNN_WIDGETS_FAST`` unset: the README's budgets are the ones that run.  Each
``print`` in the README states its claim in a comment; :data:`CLAIMS` checks every printed
line against it, and a README ``print`` without a claim here fails the test.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
MARK = "=== README block {} ==="


def _number(text):
    return float(text)


#: printed line (regex, anchored at the start) -> check of its groups (what the README's comment says)
CLAIMS = {
    r"accuracy: ([\d.]+)$": lambda acc: _number(acc) >= 0.9,
    r"last event: (\w+) after (\d+) steps in all$": lambda kind, steps: kind == "stopped" and int(steps) > 0,
    r"(\w+) \| (.*)$": lambda name, message: name == "tau" and "tau" in message and "nan" in message,
    r"same batch and weights: (\w+)$": lambda value: value == "True",
    r"stages passed: (\d+)$": lambda stage: int(stage) == 4,
    r"simulator vs TensorFlow: (\w+)$": lambda value: value == "True",
    r"accuracy without the excitatory units: ([\d.]+)$": lambda acc: _number(acc) <= 0.7,
    r"slope > 0: (\w+) \| \|bias\| < 0\.1: (\w+)$": lambda a, b: a == b == "True",
    r"accuracy before/after: ([\d.]+) ([\d.]+)$": lambda before, after: (_number(before) >= 0.75 and _number(after) <= 0.6
                                                             and _number(before) - _number(after) >= 0.2),
    r"(\d+) fixed points, (\d+) stable$": lambda n, stable: int(n) >= 1 and 0 <= int(stable) <= int(n),
    r"(\d+) runs finished$": lambda n: int(n) == 8,
    r"example accuracy: ([\d.]+)$": lambda acc: _number(acc) >= 0.95,
    r"reopened identical: (\w+)$": lambda value: value == "True",
    r"rebuilt as code, largest difference: (\S+)$": lambda value: _number(value) <= 1e-6,
}


def readme_blocks():
    return [block for block in BLOCK.findall(README.read_text())]


def test_every_readme_print_has_a_claim_checked_here():
    prints = [line for block in readme_blocks() for line in block.splitlines() if line.lstrip().startswith("print(")]
    assert len(prints) == len(CLAIMS), "each README print states one claim, and each claim is checked here"


def test_readme_python_blocks_run_in_order_and_their_claims_hold(tmp_path):
    blocks = readme_blocks()
    assert len(blocks) >= 8
    script = "\n".join(f"print({MARK.format(i)!r}, flush=True)\n{block}" for i, block in enumerate(blocks))
    script += f"\nprint({MARK.format('end')!r}, flush=True)\n"
    env = {key: value for key, value in os.environ.items() if key != "PSYCHRNN_WIDGETS_FAST"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # ``python -c``: the main module has no file, so dask's spawned workers have none to re-run
    result = subprocess.run([sys.executable, "-c", script], text=True, capture_output=True, cwd=tmp_path,
                            env=env, timeout=900)
    output = result.stdout
    assert result.returncode == 0, f"the README's code failed:\n{output[-3000:]}\n{result.stderr[-5000:]}"
    assert MARK.format("end") in output
    for i in range(len(blocks)):
        assert MARK.format(i) in output
    lines = [line.strip() for line in output.splitlines()]
    for pattern, check in CLAIMS.items():
        matches = [re.match(pattern, line) for line in lines]
        matches = [m for m in matches if m is not None]
        assert matches, f"no printed line matches {pattern!r}:\n{output[-3000:]}"
        match = matches[-1]
        assert check(*match.groups()), f"the README's claim does not hold: {match.group(0)!r}"
    assert (tmp_path / "weights" / "hello.npz").is_file() and (tmp_path / "psychometric.svg").is_file()
