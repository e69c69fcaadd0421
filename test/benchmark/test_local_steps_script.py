"""``benchmarks/local_steps.py``: the escapes from a wrong basin (``--stuck``)."""

import json

from benchmark_scripts import load_script


def _results(tmp_path):
    # Two initial points, then four proposals; the optimum's value is 1 (regret = 1 - best).
    # run a: stuck (regret 0.5) until its 2nd proposal, a far move to 0.98, gets it out.
    # run b: stuck throughout, one local and one far move.
    runs = {
        "m|0|0": {
            "method": "m",
            "X": [[0.1, 0.1], [0.2, 0.2], [0.21, 0.2], [0.9, 0.9], [0.91, 0.9], [0.9, 0.91]],
            "y": [0.4, 0.5, 0.45, 0.98, 0.99, 0.97],
            "regret": [0.5, 0.5, 0.02, 0.01, 0.01],
        },
        "m|0|1": {
            "method": "m",
            "X": [[0.5, 0.5], [0.6, 0.6], [0.61, 0.6], [0.1, 0.9], [0.6, 0.62], [0.0, 0.0]],
            "y": [0.3, 0.4, 0.35, 0.2, 0.38, 0.1],
            "regret": [0.6, 0.6, 0.6, 0.6, 0.6],
        },
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"runs": runs, "bounds": [[0.0, 0.0], [1.0, 1.0]]}))
    return str(path)


def test_escapes_count_stuck_proposals_their_escapes_and_far_moves(tmp_path):
    mod = load_script("local_steps")
    got = mod.escapes([_results(tmp_path)], start=2, stop=6, stuck=0.05, far=0.3)
    # stuck before: a at evaluations 2, 3 (then out); b at all four.
    assert got["m"] == {"stuck": 6, "escaped": 1, "far": 3, "all": 8}
    later = mod.escapes([_results(tmp_path)], start=4, stop=6, stuck=0.05, far=0.3)
    assert later["m"]["stuck"] == 2 and later["m"]["escaped"] == 0
