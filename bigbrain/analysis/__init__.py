"""Analysis of bigbrain run archives with dask: lazy, chunked, out of core.

    import bigbrain.analysis as ba
    run = ba.open("run.zarr")
    run.rates("E").compute()

See docs/analysis.md.
"""

from .archive import ArchiveError, Run, open
from .report import write_report

__all__ = ["ArchiveError", "Run", "open", "write_report"]
