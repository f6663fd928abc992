"""Analysis of bigbrain run archives with dask: lazy, chunked, out of core.

    import bigbrain.analysis as ba
    run = ba.open("run.zarr")
    run.rates("E").compute()

See docs/analysis.md.
"""

from .archive import ArchiveError, Run, open
from .rates import rate_bin_edges
from .report import write_report

__all__ = ["ArchiveError", "Run", "open", "rate_bin_edges", "write_report"]
