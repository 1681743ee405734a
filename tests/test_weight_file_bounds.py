"""Loading a weight file is bounded in memory and time, and weight arrays are real numbers.

Hostile files of a few kilobytes (a "billion laughs" pickle, shared references to one
array, a deflated zip bomb, sizes the zip directory overstates, thousands of members,
deep nesting, a list holding itself) are refused within a second and 150 MB, measured
in a fresh interpreter (tracemalloc peak and the growth of its peak RSS).  No TensorFlow.
"""
import io
import json
import pickle
import struct
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npy_format

from helpers import DATA, laughs_pickle, object_npy, object_pickle_holding, run_python
from psychrnn_widgets.errors import WeightFileError
from psychrnn_widgets.io.safe_unpickle import MAX_MEMBERS, MAX_OBJECT_ITEMS
from psychrnn_widgets.io.weight_files import load_weights

W_REC = np.eye(3, dtype=np.float32)


def npy_bytes(array):
    buffer = io.BytesIO()
    npy_format.write_array(buffer, np.asanyarray(array), allow_pickle=True)
    return buffer.getvalue()


def write_zip(path, members, compression=zipfile.ZIP_DEFLATED):
    """``members``: {key: ndarray or .npy bytes}; returns ``path``."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for key, value in members.items():
            archive.writestr(key + ".npy", value if isinstance(value, bytes) else npy_bytes(value))
    return path


def overstate_sizes(path, size=2 ** 32 - 2):
    """Rewrite the uncompressed size of every member in the zip's central directory."""
    data = bytearray(path.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) >= 0:
        struct.pack_into("<I", data, start + 24, size)
        start += 4
    path.write_bytes(bytes(data))
    return path


def deep_list_opcodes(depth):
    return b"]" * depth + b"a" * (depth - 1)  # EMPTY_LIST x depth, then APPEND each into the one below


def hostile_files(folder):
    """``{label: path}``: every file is a few kilobytes (the many-members one ~1 MB)."""
    files = {}
    files["billion laughs (10^8 values)"] = write_zip(
        folder / "laughs.npz", {"W_rec": W_REC, "extra": object_npy(laughs_pickle(10, 8))})
    shared = np.empty(6000, dtype=object)
    shared[:] = [np.zeros(5000)] * 6000  # one 40 KB array referenced 6000 times (240 MB expanded)
    files["shared array"] = write_zip(folder / "shared.npz", {"W_rec": W_REC, "extra": shared})
    zeros = np.zeros(5 << 20, np.float32)  # 20 MiB of zeros deflate to ~20 KB
    files["zip bomb"] = write_zip(folder / "zipbomb.npz", {"W_rec": W_REC, "extra": zeros})
    files["overstated sizes"] = overstate_sizes(write_zip(folder / "overstated.npz", {"W_rec": W_REC}))
    files["deep nesting"] = write_zip(folder / "deep.npz", {"extra": object_npy(object_pickle_holding(
        deep_list_opcodes(200)))})
    files["list holding itself"] = write_zip(folder / "itself.npz", {"extra": object_npy(object_pickle_holding(
        b"]r\xe8\x03\x00\x00j\xe8\x03\x00\x00a"))})  # EMPTY_LIST, memoise, get it, APPEND it to itself
    files["long text"] = write_zip(folder / "text.npz", {"extra": np.array("x" * 60_000, dtype=object)})
    files["huge integer"] = write_zip(folder / "integer.npz", {"extra": np.array(10 ** 20_000, dtype=object)})
    empty = npy_bytes(np.zeros(0, np.float32))
    files["many members"] = write_zip(folder / "members.npz", {f"m{i}": empty for i in range(MAX_MEMBERS + 1)},
                                      compression=zipfile.ZIP_STORED)
    return files


def test_hostile_files_are_a_few_kilobytes():
    # what the bounds are about: files this small must not cost seconds or gigabytes
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        sizes = {label: path.stat().st_size for label, path in hostile_files(Path(folder)).items()}
    assert sizes["billion laughs (10^8 values)"] <= 1024
    assert all(size < 64 << 10 for label, size in sizes.items() if label != "many members"), sizes


def test_a_one_kilobyte_pickle_bomb_and_other_hostile_files_are_refused_within_a_second_and_150_mb(tmp_path):
    files = hostile_files(tmp_path)
    code = f"""
        import json, resource, time, tracemalloc
        from psychrnn_widgets.io.weight_files import load_weights
        load_weights({str(DATA / "psychrnn1_pd_basic_weights.npz")!r})  # warm: imports, first read
        files = {json.dumps({label: str(path) for label, path in files.items()})}
        out = {{}}
        for label, path in files.items():
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            tracemalloc.start()
            start = time.perf_counter()
            try:
                load_weights(path)
                outcome = "loaded"
            except Exception as error:
                outcome = type(error).__name__ + ": " + str(error)
            seconds = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) * 1024
            out[label] = dict(outcome=outcome, seconds=seconds, peak=peak, rss=grown)
        print(json.dumps(out))
    """
    done = run_python(code, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(results) == set(files)
    for label, result in results.items():
        name = files[label].name
        assert result["outcome"].startswith(f"WeightFileError: {files[label]}"), (label, result)
        assert name in result["outcome"]
        assert result["seconds"] < 1.0, (label, result)
        assert result["peak"] < 150e6, (label, result)
        assert result["rss"] < 150e6, (label, result)
    bomb = results["billion laughs (10^8 values)"]
    assert "'extra'" in bomb["outcome"] and f"more than {MAX_OBJECT_ITEMS} values" in bomb["outcome"]
    assert "unpack to" in results["zip bomb"]["outcome"]
    assert "unpack to" in results["overstated sizes"]["outcome"]
    assert f"at most {MAX_MEMBERS}" in results["many members"]["outcome"]
    assert "nested more than" in results["deep nesting"]["outcome"]


def test_the_bomb_is_what_it_claims_to_be():
    """Without the budget, the 600-byte pickle really is 10^8 values (checked on a 10^4 version)."""
    small = pickle.loads(laughs_pickle(10, 4))  # NumPy's own unpickler, fine at this size
    assert np.array(small.item()).size == 10 ** 4
    assert len(laughs_pickle(10, 8)) - len(laughs_pickle(10, 4)) < 300  # each level costs ~60 bytes


WRONG_DTYPES = {
    "datetime64": np.arange(9).astype("datetime64[s]").reshape(3, 3),
    "timedelta64": np.arange(9).astype("timedelta64[ms]").reshape(3, 3),
    "complex64": np.eye(3, dtype=np.complex64),
    "complex128": np.eye(3) * (1 + 1j),
    "bytes": np.full((3, 3), b"ab"),
    "void": np.zeros((3, 3), dtype="V4"),
    "structured": np.zeros((3, 3), dtype=[("w", "f4"), ("b", "f4")]),
    "complex in an object array": np.array([[1 + 2j] * 3] * 3, dtype=object),
    "datetime64 in an object array": np.array([[np.datetime64("2020-01-01")] * 3] * 3, dtype=object),
    "complex array inside an object array": np.array([np.eye(3, dtype=complex), None], dtype=object),
}


@pytest.mark.parametrize("label", list(WRONG_DTYPES))
def test_weight_arrays_that_are_not_real_numbers_are_refused_naming_the_entry(tmp_path, label):
    path = write_zip(tmp_path / "dtype.npz", {"W_in": np.ones((3, 2), np.float32), "W_rec": WRONG_DTYPES[label]})
    with pytest.raises(WeightFileError, match=r"dtype\.npz: refused to load entry 'W_rec'") as info:
        load_weights(path)
    message = str(info.value)
    assert "real number" in message
    if "complex" in label:
        assert "complex" in message
    if "datetime64" in label:
        assert "datetime64" in message


def test_the_simulator_refuses_a_datetime_network_instead_of_running_it(tmp_path):
    from psychrnn_widgets import BasicSimulator

    weights = {"W_in": np.ones((3, 2), np.float32), "W_rec": WRONG_DTYPES["datetime64"],
               "W_out": np.ones((2, 3), np.float32), "b_rec": np.zeros(3, np.float32),
               "b_out": np.zeros(2, np.float32), "init_state": np.zeros((1, 3), np.float32)}
    path = write_zip(tmp_path / "dates.npz", weights)
    with pytest.raises(WeightFileError, match=r"dates\.npz.*'W_rec'.*datetime64"):
        BasicSimulator(weights_path=str(path), params={"dt": 10, "tau": 100})


def test_plain_values_within_the_bounds_still_load(tmp_path):
    members = {
        "W_rec": W_REC, "mask": np.ones((3, 3), bool), "counts": np.arange(3, dtype=np.int64),
        "half": np.ones(3, np.float16), "dale_ratio": np.array(0.8, dtype=object),
        "name": np.array("Basic"), "listed": np.array([[0.5, 1.5], [2.5, 3.5]], dtype=object),
        "at_budget": np.array(list(range(MAX_OBJECT_ITEMS // 2)), dtype=object),
    }
    loaded = load_weights(write_zip(tmp_path / "fine.npz", members))
    np.testing.assert_array_equal(loaded["W_rec"], W_REC)
    assert loaded["dale_ratio"] == 0.8
    np.testing.assert_array_equal(loaded["listed"], [[0.5, 1.5], [2.5, 3.5]])
    assert loaded["at_budget"].shape == (MAX_OBJECT_ITEMS // 2,)
    assert loaded["mask"].dtype == bool and loaded["counts"].dtype == np.int64
    compressed = tmp_path / "compressed.npz"
    np.savez_compressed(compressed, W_rec=np.ones((400, 400), np.float32), W_in=np.zeros((400, 2), np.float32))
    assert load_weights(compressed)["W_rec"].shape == (400, 400)  # deflated 300:1, within the ratio
