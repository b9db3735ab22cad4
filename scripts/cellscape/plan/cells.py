"""Whether the cells the stages after training see are enough for them, said at planning.

The embeddings, metrics and clusters fit their neighbourhoods to the cells they have
(``cellscape.neighbourhood``), but cross-validated k-NN accuracy cannot score a class with fewer
than two cells. With ``activations.split: test`` a class gets about its test share of the
events: planning counts a directory's events per class and names the setting to change before
any job runs (a note, not a stop: quality control decides the final counts, and a run may target
ingestion alone). No I/O here.
"""
from collections import Counter

#: cells of each class that the selection needs (k-NN accuracy's cross-validation)
MIN_CELLS_PER_CLASS = 2


def expected_selected(class_counts, config):
    """{class: about how many of its events the stages after training see}: the test share of
    ``data.split`` with ``activations.split: test``, every event otherwise."""
    split = config["data"]["split"]
    share = split["test"] if config["activations"]["split"] == "test" and isinstance(split, dict) else 1.0
    return {cls: n * share for cls, n in class_counts.items()}


def selection_size_note(events, config):
    """The sentence naming ``activations.split: all`` when a class would bring fewer than
    :data:`MIN_CELLS_PER_CLASS` cells to the stages after training, else None (``events``: the
    listed events, each with its ``cls``)."""
    counts = Counter(event.cls for event in events if event.cls in config["classes"])
    short = {cls: n for cls, n in expected_selected(counts, config).items() if n < MIN_CELLS_PER_CLASS}
    if not short:
        return None
    shown = ", ".join(f"{cls} ({counts[cls]} events, about {n:.1f} selected cells)" for cls, n in short.items())
    change = ("set activations.split: all (every cell is embedded and scored) or add events"
              if config["activations"]["split"] == "test" else "add events")
    return (f"cellscape warning: too few cells for the layer metrics: {shown}; k-NN accuracy needs "
            f"{MIN_CELLS_PER_CLASS} cells per class, so the run would stop at layer_metrics: {change}")
