import matplotlib

from triage.training.plots import render_plots
from triage.training.train import TrainResult


def test_figures_are_pngs_and_leave_the_plotting_backend_alone(trained: TrainResult) -> None:
    before = matplotlib.get_backend()
    matplotlib.use("svg")  # not Agg: the backend a caller chose must survive
    try:
        figures = render_plots(trained.metrics)
        backend_after = matplotlib.get_backend()
    finally:
        matplotlib.use(before)
    assert set(figures) == {
        f"{head}-{kind}.png"
        for head in ("category", "tier")
        for kind in ("reliability", "precision-coverage", "confusion")
    }
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in figures.values())
    # A notebook that trains a model keeps its own (inline) backend.
    assert backend_after == "svg"
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # nothing left open in pyplot's registry
