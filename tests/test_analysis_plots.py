"""Figures of bigbrain.analysis: rate histogram bins, traffic matrix and mesh link heatmaps."""
import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from bigbrain.analysis import rate_bin_edges  # noqa: E402
from bigbrain.analysis.traffic import plot_link_loads, plot_traffic_matrix  # noqa: E402
from bigbrain.partition.mesh import EAST  # noqa: E402


@pytest.mark.parametrize("duration_s, max_count", [(1.0, 173), (0.3, 40), (2.5, 9), (1.0, 0)])
def test_rate_bins_hold_equally_many_possible_rates(duration_s, max_count):
    """Rates are counts / duration: every bin spans the same number of them (no comb)."""
    possible = np.arange(max_count + 1) / duration_s
    edges = rate_bin_edges(possible, duration_s)
    assert len(edges) - 1 <= 50
    per_bin = np.histogram(possible, edges)[0]
    assert per_bin.sum() == len(possible)
    assert (per_bin[:-1] == per_bin[0]).all() and 0 < per_bin[-1] <= per_bin[0]


def test_traffic_matrix_scale_starts_at_zero_and_ticks_whole_ranks():
    matrix = np.array([[1000, 1003, 1005], [1001, 1000, 1002], [1004, 1001, 1000]])
    ax = plot_traffic_matrix(matrix)
    ax.figure.canvas.draw()
    assert ax.images[0].get_clim() == (0, 1005)
    for ticks in (ax.get_xticks(), ax.get_yticks()):
        shown = ticks[(ticks >= -0.5) & (ticks <= 2.5)]
        assert len(shown) and np.array_equal(shown, np.round(shown))


def test_busy_links_and_routers_are_told_apart():
    """The busiest link, an empty link and a router (no link) look clearly different, on
    the white page (a transparent cell shows white)."""
    loads = np.zeros((2, 2, 4), np.int64)
    loads[0, 0, EAST] = 500                                 # the busiest link
    ax = plot_link_loads(loads)
    image = ax.images[0]
    assert image.get_clim()[0] == 0

    def on_page(rgba):
        rgb, alpha = np.array(rgba[:3]), rgba[3]
        return alpha * rgb + (1 - alpha) * np.ones(3)

    busiest, empty = (on_page(image.cmap(image.norm(v))) for v in (500.0, 0.0))
    router = on_page(image.cmap.get_bad())
    for a, b in ((busiest, router), (busiest, empty), (empty, router), (busiest, np.ones(3))):
        assert np.linalg.norm(a - b) > 0.4, (a, b)
