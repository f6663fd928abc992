"""Run a SONATA simulation config with the Brain Modeling Toolkit's PointNet (NEST).

    pointnet_run.py CONFIG SPIKES.h5

Writes the spikes as PointNet's own SONATA spike report to SPIKES.h5.
"""
import json
import sys
from pathlib import Path

from bmtk.simulator import pointnet

config, spikes = Path(sys.argv[1]), Path(sys.argv[2])
doc = json.loads(config.read_text())
doc["output"] = {"output_dir": str(spikes.parent), "spikes_file": spikes.name,
                 "log_file": "pointnet.log", "overwrite_output_dir": True}
run_config = config.with_name("pointnet_config.json")
run_config.write_text(json.dumps(doc))
cfg = pointnet.Config.from_json(str(run_config))
cfg.build_env()
net = pointnet.PointNetwork.from_config(cfg)
pointnet.PointSimulator.from_config(cfg, net).run()
