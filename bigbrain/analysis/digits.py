"""Figures of a digit-learning run (:mod:`bigbrain.models.diehl_cook`): the receptive fields
(one tile per excitatory neuron: its input weights as an image) and the confusion matrix."""
import math
from pathlib import Path

import numpy as np


def receptive_fields(weights, ax=None, assignments=None):
    """Tile each row of ``weights`` (neurons × pixels, square images) into one image."""
    import matplotlib.pyplot as plt
    n, pixels = weights.shape
    side = int(round(math.sqrt(pixels)))
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    canvas = np.full((rows * (side + 1), cols * (side + 1)), np.nan)
    for k in range(n):
        r, c = divmod(k, cols)
        canvas[r * (side + 1): r * (side + 1) + side, c * (side + 1): c * (side + 1) + side] = \
            weights[k].reshape(side, side)
    ax = ax or plt.gca()
    ax.imshow(canvas, cmap="hot_r", interpolation="nearest")
    ax.set_title(f"receptive fields of {n} excitatory neurons")
    ax.axis("off")
    return ax


def confusion(matrix, ax=None):
    """Plot a confusion matrix (true × predicted counts)."""
    import matplotlib.pyplot as plt
    ax = ax or plt.gca()
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xticks(range(matrix.shape[1]))
    ax.set_yticks(range(matrix.shape[0]))
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    ax.set_title(f"confusion ({100 * accuracy:.1f} % correct)")
    return ax


def write_report(result, archive):
    """Write ``<archive>.report/receptive_fields.png`` and ``confusion.png``; return the folder."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    folder = Path(f"{archive}.report")
    folder.mkdir(parents=True, exist_ok=True)
    for name, draw, arg in (("receptive_fields", receptive_fields, result["weights"]),
                            ("confusion", confusion, result["confusion"])):
        fig, ax = plt.subplots(figsize=(6, 6))
        draw(arg, ax)
        fig.savefig(folder / f"{name}.png", dpi=100, bbox_inches="tight")
        plt.close(fig)
    return folder
