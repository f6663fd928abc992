"""Model files: round trip with the Python API, overrides, and the errors of broken files."""
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import bigbrain as bb
from bigbrain import modelfile
from bigbrain.cli import main as cli
from bigbrain.description import describe, fingerprint

GOOD = """
[network]
dt = 0.1
seed = 3
[run]
t = 50.0
[[populations]]
name = "E"
size = 100
model = "iaf_psc_delta"
params = { tau_m = 20.0, V_th = 20.0, V_reset = 10.0, E_L = 0.0, C_m = 1.0, V_m = { distribution = "uniform", low = 0.0, high = 20.0 } }
[[inputs]]
name = "noise"
rate = 20000.0
[[projections]]
pre = "E"
post = "E"
rule = "fixed_indegree"
indegree = 10
weight = 0.2
delay = { distribution = "clipped_normal", mean = 1.5, std = 0.5, low = 0.1, high = 3.0 }
[[projections]]
pre = "noise"
post = "E"
weight = 0.2
[[recordings]]
population = "E"
"""


def sha(net):
    arrays = {}
    return fingerprint(describe(net, arrays), arrays)


def test_file_builds_the_network_the_api_builds(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(GOOD)
    net = bb.Network(dt=0.1, seed=3)
    e = net.population("E", 100, "iaf_psc_delta", tau_m=20.0, V_th=20.0, V_reset=10.0, E_L=0.0,
                       C_m=1.0, V_m=bb.uniform(0.0, 20.0))
    net.connect(e, e, rule="fixed_indegree", indegree=10, weight=0.2,
                delay=bb.clipped_normal(1.5, 0.5, 0.1, 3.0))
    net.connect(net.poisson("noise", 20000.0), e, weight=0.2)
    net.record(e, "spikes")
    model = modelfile.read(path)
    assert model.run["t"] == 50.0
    assert sha(model.network()) == sha(net)


@pytest.mark.parametrize("name", modelfile.shipped_models())
def test_written_file_reads_back_as_the_same_network(tmp_path, name):
    small = {"microcircuit": [("builder.scale", "0.01")]}.get(name, [("builder.N", "500")])
    net = modelfile.read(name, small).network()
    modelfile.write(net, tmp_path / "out.toml", t=10.0)
    back = modelfile.read(tmp_path / "out.toml")
    assert back.run["t"] == 10.0 and sha(back.network()) == sha(net)


def test_overrides_set_values():
    model = modelfile.read("brunel-ai", [("builder.g", "4.5"), ("network.seed", "7"), ("run.t", "20")])
    assert model.doc["builder"]["g"] == 4.5 and model.doc["network"]["seed"] == 7 and model.run["t"] == 20


BROKEN = {
    "syntax": ("[network\ndt = 0.1", "syntax: not valid TOML"),
    "unknown_top": (GOOD.replace("[[projections]]", "[[projection]]", 1),
                    "projection: unknown key (did you mean 'projections'?)"),
    "misspelt_key": (GOOD.replace("size = 100", "siz = 100"),
                     "populations[0].siz: unknown key (did you mean 'size'?)"),
    "wrong_type": (GOOD.replace("size = 100", 'size = "ten"'),
                   "populations[0].size: expected an integer, got 'ten'"),
    "wrong_type_weight": (GOOD.replace("weight = 0.2", 'weight = "big"', 1),
                          "projections[0].weight: expected a number, a distribution table"),
    "unknown_model": (GOOD.replace('"iaf_psc_delta"', '"iaf_psc_delt"'),
                      "unknown model 'iaf_psc_delt' (did you mean 'iaf_psc_delta'?)"),
    "unknown_param": (GOOD.replace("tau_m = 20.0", "tau_mm = 20.0"),
                      "population 'E'.tau_mm: unknown parameter for model iaf_psc_delta (did you mean 'tau_m'?)"),
    "bad_param": (GOOD.replace("tau_m = 20.0", "tau_m = -5.0"), "population 'E'.tau_m: must be > 0 ms"),
    "no_populations": ("[run]\nt = 10.0\n", "populations: missing"),
    "missing_population": (GOOD.replace('post = "E"', 'post = "EE"', 1),
                           "projections[0].post: unknown population 'EE' (did you mean 'E'?)"),
    "recording_unknown": (GOOD.replace('population = "E"', 'population = "F"'),
                          "recordings[0].population: unknown population 'F'"),
    "negative_duration": (GOOD.replace("t = 50.0", "t = -5.0"), "run.t: expected a duration >= 0 ms, got -5.0"),
    "negative_dt": (GOOD.replace("dt = 0.1", "dt = -0.1"), "dt: must be a positive number of ms"),
    "unknown_rule": (GOOD.replace('"fixed_indegree"', '"fixed_indegre"'), "did you mean 'fixed_indegree'?"),
    "unknown_distribution": (GOOD.replace('"clipped_normal"', '"clipped_normall"'),
                             "projections[0].delay.distribution: unknown distribution 'clipped_normall' "
                             "(did you mean 'clipped_normal'?)"),
    "builder_name": ('[builder]\nname = "brunell"\n', "builder.name: unknown builder 'brunell' (did you mean 'brunel'?)"),
    "builder_arg": ('[builder]\nname = "brunel"\netta = 2.0\n', "builder.etta: not an argument of brunel (did you mean 'eta'?)"),
    "builder_type": ('[builder]\nname = "brunel"\ng = "five"\n', "builder.g: expected a number, got 'five'"),
    "backend": (GOOD.replace("t = 50.0", 't = 50.0\nbackend = "gpx"'), "run.backend: expected one of cpu, gpu"),
    "order_unknown": ('order = ["E", "noise", "X"]\n' + GOOD, "order: unknown population 'X'"),
    "distribution_string": (GOOD.replace("mean = 1.5", 'mean = "1.5"'),
                            "projections[0].delay: expected a distribution table"),
    "stdp_key": (GOOD.replace("weight = 0.2", 'weight = 0.2\nsynapse = { model = "stdp_synapse", '
                              'tau_plux = 20.0 }', 1),
                 "synapse.tau_plux: not a parameter of stdp_synapse (did you mean 'tau_plus'?)"),
    "recording_ids": (GOOD.replace('population = "E"', 'population = "E"\nids = [5000]'),
                      "recordings[0].ids: population 'E'[ids]: id 5000 is outside the population's 100 neurons"),
    "spike_counts": (GOOD.replace("[[inputs]]", '[[populations]]\nname = "S"\nsize = 3\nmodel = '
                                  '"spike_source"\nparams = { spike_times = { times_ms = [1.0, 2.0], '
                                  'counts = [1, 1] } }\n[[inputs]]'),
                     "population 'S'.params.spike_times.counts: has 2 entries for 3 nodes"),
    "size_too_large": (GOOD.replace("size = 100", "size = 1000000000000"),
                       "population 'E'.size: 1000000000000 nodes do not fit"),
    "exchange": (GOOD.replace("seed = 3", 'seed = 3\nexchange = "mesj"'), "network.exchange: expected "
                 "one of alltoall, sparse, mesh, got 'mesj' (did you mean 'mesh'?)"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_file_names_file_key_and_expectation(tmp_path, capsys, case):
    text, expected = BROKEN[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    assert cli(["run", str(path), "--out", str(tmp_path / "a.zarr")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: " in err and expected in err, err
    assert not (tmp_path / "a.zarr").exists()


@pytest.mark.parametrize("case,expected", [("not_utf8", "file: not UTF-8 text"),
                                           ("directory", "file: is a directory")])
def test_unreadable_file_is_named(tmp_path, capsys, case, expected):
    path = tmp_path / "m.toml"
    if case == "directory":
        path.mkdir()
    else:
        path.write_bytes(GOOD.replace("noise", "bruit\xe9").encode("latin-1"))
    assert cli(["run", str(path), "--out", str(tmp_path / "a.zarr")]) == 2
    assert f"{path}: {expected}" in capsys.readouterr().err


def test_misspelt_shipped_model_suggests_the_name(capsys):
    assert cli(["run", "brunel-a"]) == 2
    assert "did you mean 'brunel-ai'?" in capsys.readouterr().err


def test_the_command_exits_with_2(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(BROKEN["misspelt_key"][0])
    proc = subprocess.run([sys.executable, "-c", "import sys; from bigbrain.cli import main; sys.exit(main())",
                           "run", str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "did you mean 'size'?" in proc.stderr


# Brunel (2000) Fig. 8: the panel of each state, and its (g, nu_ext/nu_thr).
BRUNEL_FIG8 = {"A": (3.0, 2.0), "B": (6.0, 4.0), "C": (5.0, 2.0), "D": (4.5, 0.9)}


@pytest.mark.parametrize("name", [n for n in modelfile.shipped_models() if n.startswith("brunel-")])
def test_shipped_brunel_file_cites_the_panel_of_its_state(name):
    model = modelfile.read(name)
    panel = Path(model.path).read_text().split("Fig. 8", 1)[1][0]
    assert BRUNEL_FIG8[panel] == (model.doc["builder"]["g"], model.doc["builder"]["eta"])


EXAMPLE = Path(__file__).parent.parent / "examples" / "model.toml"


def test_the_documented_example_is_a_valid_model_file(tmp_path):
    doc = modelfile.__doc__
    block = doc[doc.index("::\n") + 3:doc.index("With a builder")]
    path = tmp_path / "doc.toml"
    path.write_text(textwrap.dedent(block))
    net = modelfile.read(path).network()
    assert net.populations["E"].size == 800 and net.exchange == "alltoall"


@pytest.mark.parametrize("exchange", ["sparse", "mesh"])
def test_the_file_chooses_the_exchange(tmp_path, exchange):
    path = tmp_path / "m.toml"
    path.write_text(GOOD.replace("seed = 3", f'seed = 3\nexchange = "{exchange}"'))
    assert modelfile.read(path).network().exchange == exchange
    built = modelfile.read("brunel-ai", [("network.exchange", exchange), ("builder.N", "500")]).network()
    assert built.exchange == exchange
    modelfile.write(built, tmp_path / "back.toml")
    assert modelfile.read(tmp_path / "back.toml").network().exchange == exchange


@pytest.mark.mpi
def test_the_example_file_runs_alike_on_one_and_two_ranks_and_any_exchange(tmp_path):
    from bigbrain.archive import ArchiveResult
    from test_cli import bigbrain

    bigbrain("run", EXAMPLE, "--t", "30", "--progress-every", "0", cwd=tmp_path)
    bigbrain("run", EXAMPLE, "--t", "30", "--out", "mesh.zarr", "--set", "network.exchange=mesh",
             ranks=2, cwd=tmp_path)
    one, two = ArchiveResult(tmp_path / "model.zarr"), ArchiveResult(tmp_path / "mesh.zarr")
    e1, e2 = one.spikes("E"), two.spikes("E")
    assert len(e1[0]) > 100
    np.testing.assert_array_equal(e1[0], e2[0])
    np.testing.assert_array_equal(e1[1], e2[1])
    assert set(one.spikes("I")[1]) <= {0, 1, 2, 3, 4}
