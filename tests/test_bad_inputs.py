"""Every bad input of tools/bad_inputs.py (several hundred) gets a clear error naming it."""
import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "bad_inputs.py"


def test_every_bad_input_gets_a_clear_error_that_names_it():
    spec = importlib.util.spec_from_file_location("bad_inputs", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    results, counts = tool.run()
    unclear = [f"{r['category']}: {r['case']}: {r['detail']}" for r in results if r["outcome"] != "clear"]
    assert len(results) > 500
    assert not unclear, "\n".join(unclear)
