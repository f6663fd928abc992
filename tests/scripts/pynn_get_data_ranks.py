"""PyNN's recorded data on any number of ranks, for tests: ``python pynn_get_data_ranks.py
OUT_DIR``. A 1-cell and a 2-cell IF_cond_alpha population (DC-driven, spiking) record
spikes and v for two segments (run, reset, run); every rank saves (``OUT_DIR/RANK.pkl``)
a plain summary of ``get_data()`` of the populations, a one-cell view and an Assembly,
their spike counts and mean counts, the ids of its ``get_data(gather=False)``, and rank 0
the Block that ``write_data`` wrote."""
import pickle
import sys
from pathlib import Path

import neo
import numpy as np

import bigbrain.pynn as sim


def summary(block):
    """The content of a Neo Block as plain Python values (times ms, v mV): per segment the
    spike trains (times, channel_id, source_index, source_population, t_start, t_stop) and
    signals (name, units, channel_ids, channel_index, t_start, sampling_period, values);
    the Block's annotations but ``mpi_processes``."""
    segments = []
    for seg in block.segments:
        trains = [(st.magnitude.tolist(), st.annotations["channel_id"],
                   int(st.annotations["source_index"]), st.annotations["source_population"],
                   float(st.t_start), float(st.t_stop)) for st in seg.spiketrains]
        signals = [(sig.name, str(sig.units.dimensionality),
                    np.asarray(sig.annotations["channel_ids"]).tolist(),
                    np.asarray(sig.array_annotations["channel_index"]).tolist(),
                    float(sig.t_start), float(sig.sampling_period), sig.magnitude.tolist())
                   for sig in seg.analogsignals]
        segments.append((trains, signals))
    annotations = {k: v for k, v in block.annotations.items() if k != "mpi_processes"}
    return {"segments": segments, "annotations": annotations}


def ids(block):
    """The cell ids with data in ``block`` (spike trains and signals)."""
    found = set()
    for seg in block.segments:
        found |= {st.annotations["channel_id"] for st in seg.spiketrains}
        for sig in seg.analogsignals:
            found |= set(np.asarray(sig.annotations["channel_ids"]).tolist())
    return sorted(found)


out = Path(sys.argv[1])
sim.setup(timestep=0.1)
one = sim.Population(1, sim.IF_cond_alpha(i_offset=3.0), label="one")
two = sim.Population(2, sim.IF_cond_alpha(i_offset=[2.0, 4.0]), label="two")
for pop in (one, two):
    pop.record(["spikes", "v"])
sim.run(10.0)
sim.reset()
sim.run(10.0)
view, both = two[1:], one + two
result = {}
for name, cells in (("one", one), ("two", two), ("view", view), ("assembly", both)):
    result[name] = summary(cells.get_data())
    result[f"{name}_counts"] = cells.get_spike_counts()
    result[f"{name}_mean"] = cells.mean_spike_count()
result["local_ids"] = {name: ids(p.get_data(gather=False)) for name, p in (("one", one), ("two", two))}
one.write_data(str(out / "one.pkl"))
if sim.rank() == 0:
    result["written"] = summary(neo.io.PickleIO(str(out / "one.pkl")).read_block())
with open(out / f"{sim.rank()}.pkl", "wb") as f:
    pickle.dump(result, f)
sim.end()
