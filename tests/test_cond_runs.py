"""The conductance-based models through model files, ``bigbrain run`` / ``resume`` and
checkpoints: a TOML model with every one (hh_cond_exp_traub included), run on 3 ranks,
checkpointed, resumed on 2 ranks with another partition, gives the spikes and V_m of one
uninterrupted rank bit for bit."""
import shutil

import numpy as np
import pytest
import zarr

from bigbrain.archive import ArchiveResult
from bigbrain.checkpoint import checkpoint_steps
from mpi_helpers import run_mpi
from test_cli import bigbrain

pytestmark = pytest.mark.mpi

MODEL = """
[network]
dt = 0.1
seed = 7
[run]
t = 60.0
{populations}
[[inputs]]
name = "noise"
rate = 3000.0
{projections}
"""
POPULATIONS = {  # name: (model, size, parameters)
    "X": ("iaf_cond_exp", 30,
          'I_e = 200.0, V_m = { distribution = "uniform", low = -70.0, high = -55.0 }'),
    "A": ("iaf_cond_alpha", 30, "I_e = 250.0, tau_syn_ex = 1.0"),
    "T": ("iaf_cond_exp_adaptive", 30,
          "I_e = 200.0, theta_plus = 2.0, tau_theta = 50.0, t_lockout = 4.0"),
    "W": ("aeif_cond_exp", 12, "I_e = 700.0, t_ref = 1.0"),
    "V": ("aeif_cond_alpha", 12, "I_e = 800.0, t_ref = 1.0"),
    "H": ("hh_cond_exp_traub", 12, "I_e = 100.0, V_m = -62.0"),
}


def model_text():
    pops = "".join(f'[[populations]]\nname = "{name}"\nsize = {size}\nmodel = "{model}"\n'
                   f"params = {{ {params} }}\n[[recordings]]\npopulation = \"{name}\"\n"
                   f'[[recordings]]\npopulation = "{name}"\nwhat = "V_m"\n'
                   for name, (model, size, params) in POPULATIONS.items())
    projections = "".join(
        f'[[projections]]\npre = "noise"\npost = "{name}"\nweight = 3.0\n'
        f'[[projections]]\npre = "X"\npost = "{name}"\nrule = "fixed_indegree"\nindegree = 5\n'
        f"weight = 4.0\ndelay = 1.0\n"
        f'[[projections]]\npre = "T"\npost = "{name}"\nrule = "fixed_indegree"\nindegree = 5\n'
        f"weight = -8.0\ndelay = 1.5\n" for name in POPULATIONS)
    return MODEL.format(populations=pops, projections=projections)


@pytest.mark.slow
def test_model_file_on_3_ranks_checkpointed_and_resumed_on_2_equals_1_rank(tmp_path):
    path = tmp_path / "cond.toml"
    path.write_text(model_text())
    bigbrain("run", path, "--out", tmp_path / "ref.zarr")
    bigbrain("run", path, "--out", tmp_path / "full.zarr", "--checkpoint-every", 30.0, ranks=3)
    cut = tmp_path / "cut.zarr"
    shutil.copytree(tmp_path / "full.zarr", cut)
    assert 300 in checkpoint_steps(zarr.open_group(str(cut), mode="r"))
    shutil.rmtree(cut / "checkpoints" / "600", ignore_errors=True)
    bigbrain("resume", cut, "--t", 60.0, "--partition", "blocks", ranks=2)
    ref = ArchiveResult(str(tmp_path / "ref.zarr"))
    for other in (tmp_path / "full.zarr", cut):
        res = ArchiveResult(str(other))
        for name in POPULATIONS:
            want, got = ref.spikes(name), res.spikes(name)
            assert len(want[0]) > 10, f"{name} must spike for the test to mean anything"
            np.testing.assert_array_equal(got[0], want[0], err_msg=f"{name} spike times")
            np.testing.assert_array_equal(got[1], want[1], err_msg=f"{name} spike ids")
            for a, b in zip(res.V_m(name), ref.V_m(name)):
                np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=f"{name} V_m")


def test_V_m_of_a_population_absent_from_a_rank_is_recorded(tmp_path):
    """A recorded population whose neurons all lie on another rank (blocks partition): that
    rank records no samples instead of failing (an IndexError before the fix)."""
    script = tmp_path / "absent.py"
    script.write_text(ABSENT)
    run_mpi(script, 2, tmp_path / "out.npy")
    values = np.load(tmp_path / "out.npy")
    assert values.shape == (100, 3) and np.all(values < -50.0)


ABSENT = """
import sys
import numpy as np
import bigbrain as bb
net = bb.Network(partition="blocks")
net.population("A", 8, "iaf_psc_delta")
net.population("B", 3, "iaf_cond_exp")
net.record("B", "V_m")
res = net.run(10.0)
if net.rank == 0:
    np.save(sys.argv[1], res.V_m("B")[2])
"""
