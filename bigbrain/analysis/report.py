"""Summary report of a run: an HTML page with PNG figures.

`write_report(archive, out_dir)` computes, in one dask pass over the spike records,
per-population rates, ISI CVs and population rates, draws rasters and histograms,
and writes out_dir/index.html with the figures beside it. It uses whatever dask
scheduler is active (a distributed Client included).
"""

from __future__ import annotations

import html
import warnings
from pathlib import Path

import dask
import numpy as np
import pandas as pd

from . import archive
from .raster import draw
from .rates import rate_bin_edges

RASTER_MS = 1000.0      # the raster shows the first second of each record
CURVE_POINTS = 2000     # population rate bins over the recorded window, at least 1 ms


def write_report(archive_path, out_dir) -> Path:
    """Write out_dir/index.html (and raster.png, rates.png, cv.png,
    population_rate.png) summarising the archive; returns the page's path."""
    run = archive.open(archive_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = [n for n, row in run.populations.iterrows() if row.n_recorded > 0]
    lazy = {n: population_summary(run, n) for n in names}
    (results,) = dask.compute(lazy)
    figures = {"raster.png": raster_figure(results),
               "rates.png": histogram_figure(results, "rates", "rate (Hz)"),
               "cv.png": histogram_figure(results, "cv", "ISI CV"),
               "population_rate.png": population_rate_figure(results)}
    for name, figure in figures.items():
        figure.savefig(out / name, dpi=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        telemetry = run.telemetry()
    page = out / "index.html"
    page.write_text(render(run, summary_table(run, results), telemetry, list(figures)))
    return page


def population_summary(run, name: str) -> dict:
    """Lazy statistics of one population for the report."""
    record = run.record(name)
    t0, t1 = record.window()
    bin_ms = max(1.0, (t1 - t0) / CURVE_POINTS)
    return {"rates": run.rates(name), "cv": run.isi_cv(name), "duration_s": record.duration_s,
            "population_rate": run.population_rate(name, bin_ms),
            "raster": run.raster_image(name, (t0, min(t1, t0 + RASTER_MS)))}


def summary_table(run, results: dict) -> pd.DataFrame:
    """Per population: size, recorded, spikes, rate and CV summaries."""
    rows = {}
    for name, r in results.items():
        rows[name] = {"size": run.populations.loc[name, "size"], "recorded": len(r["rates"]),
                      "spikes": run.record(name).n_spikes,
                      "mean rate (Hz)": r["rates"].mean(),
                      "median rate (Hz)": r["rates"].median(),
                      "silent (%)": 100 * (r["rates"] == 0).mean(),
                      "mean CV": r["cv"].mean(), "median CV": r["cv"].median()}
    return pd.DataFrame.from_dict(rows, orient="index")


def figure(n_rows: int, height: float = 2.2):
    """A pyplot-free matplotlib Figure with n_rows stacked Axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, height * max(n_rows, 1)), layout="constrained")
    return fig, np.atleast_1d(fig.subplots(max(n_rows, 1), 1, squeeze=False)[:, 0])


def raster_figure(results: dict):
    """One raster per population."""
    fig, axes = figure(len(results), 2.6)
    for ax, r in zip(axes, results.values()):
        draw(r["raster"], ax)
    return fig


def histogram_figure(results: dict, key: str, label: str):
    """Histogram of a per-neuron statistic, one panel per population."""
    fig, axes = figure(len(results))
    for ax, (name, r) in zip(axes, results.items()):
        values = r[key].dropna()
        bins = rate_bin_edges(values, r["duration_s"]) if key == "rates" else 50
        ax.hist(values, bins=bins, color="0.3")
        ax.set(xlabel=label, ylabel="neurons", title=f"{name} (n={len(values)})")
    return fig


def population_rate_figure(results: dict):
    """Population rate over time, one panel per population."""
    fig, axes = figure(len(results))
    for ax, (name, r) in zip(axes, results.items()):
        rate = r["population_rate"]
        ax.plot(rate.index, rate.to_numpy(), lw=0.6, color="0.2")
        ax.set(xlabel="time (ms)", ylabel="rate (Hz)", title=name)
    return fig


#: Telemetry columns that are not amounts: summing them over blocks means nothing.
NOT_SUMMED = ("t_start_ms", "t_stop_ms", "rtf")


def real_time_factor(telemetry: pd.DataFrame, segment_starts_ms=(0.0,)) -> str:
    """"; real-time factor X (…)" (wall-clock s per biological s) when telemetry has it.

    The first block of each segment (a run's start, each resume) holds the start-up
    (compiling the kernels): it is left out, as the progress line leaves it out, unless
    every block is one."""
    if "wall_s" not in telemetry:
        return ""
    first = telemetry["t_start_ms"].isin(segment_starts_ms).to_numpy()
    steady = telemetry[~first] if not first.all() else telemetry
    biological_s = (steady["t_stop_ms"] - steady["t_start_ms"]).sum() / 1000.0
    text = f"; real-time factor {steady['wall_s'].sum() / biological_s:.3g}"
    if len(steady) < len(telemetry):
        text += (f" (after the start-up: the first block of each of {first.sum()} segment(s) took "
                 f"{telemetry['wall_s'][first].sum():.3g} s)")
    return text


def telemetry_table(telemetry: pd.DataFrame) -> pd.DataFrame:
    """Total, mean and largest value per block of each amount (timings, counters)."""
    amounts = telemetry.drop(columns=[c for c in NOT_SUMMED if c in telemetry])
    return pd.DataFrame({"total": amounts.sum(), "mean per block": amounts.mean(),
                         "max per block": amounts.max()})


def render(run, table: pd.DataFrame, telemetry: pd.DataFrame, images: list) -> str:
    """The HTML page."""
    meta = {k: run.meta.get(k) for k in ("format_version", "dt_ms", "seed", "n_ranks",
                                         "partition", "started", "finished", "t_end_ms")}
    meta_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                        for k, v in meta.items())
    if telemetry.empty:
        telemetry_html = "<p>No telemetry in this archive.</p>"
    else:
        starts = [seg["from_step"] * run.meta["dt_ms"] for seg in run.meta.get("segments", [])] or [
            telemetry["t_start_ms"].min() if "t_start_ms" in telemetry else 0.0]
        window = (f" from {telemetry['t_start_ms'].min():g} to {telemetry['t_stop_ms'].max():g} ms"
                  if {"t_start_ms", "t_stop_ms"} <= set(telemetry) else "")
        telemetry_html = (f"<p>{len(telemetry)} interval blocks{window}{real_time_factor(telemetry, starts)}."
                          f"</p>{telemetry_table(telemetry).to_html(float_format='%.4g')}")
    figures = "".join(f'<h2>{html.escape(i[:-4].replace("_", " "))}</h2>'
                      f'<img src="{i}" alt="{i}">' for i in images)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>bigbrain report: {html.escape(run.location)}</title>
<style>body{{font-family:sans-serif;max-width:1050px;margin:auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}
img{{max-width:100%}}</style></head><body>
<h1>Run report</h1><p>{html.escape(run.location)}</p>
<table>{meta_rows}</table>
<h2>Populations</h2>{run.populations.to_html()}
<h2>Firing</h2>{table.to_html(float_format="%.3f")}
{figures}
<h2>Telemetry</h2>{telemetry_html}
</body></html>
"""
