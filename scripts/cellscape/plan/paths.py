"""Where each stage writes, under the run's ``results`` directory (docs/formats.md describes
every file). The rules, the tools and the benchmarks take their paths from here."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Paths:
    """The run's directories; ``figure`` names a paper figure's PNG and PDF."""

    results: str

    @property
    def raw(self):
        return f"{self.results}/raw"

    @property
    def data(self):
        return f"{self.results}/data"

    @property
    def model(self):
        return f"{self.results}/model"

    @property
    def activations(self):
        return f"{self.results}/activations"

    @property
    def embeddings(self):
        return f"{self.results}/embeddings"

    @property
    def metrics(self):
        return f"{self.results}/metrics"

    @property
    def featvis(self):
        return f"{self.results}/featvis"

    @property
    def attribution(self):
        return f"{self.results}/attribution"

    @property
    def mda(self):
        return f"{self.results}/mda"

    @property
    def explorer(self):
        return f"{self.results}/explorer"

    @property
    def export(self):
        return f"{self.results}/export"

    @property
    def label_free(self):
        return f"{self.results}/label_free"

    @property
    def untrained(self):
        """The classifier at its random initialisation (the probes' control): its dumps."""
        return f"{self.results}/untrained"

    @property
    def replicates(self):
        """The classifier's copies from other seeds: ``<replicates>/seed<s>/{model,activations}``."""
        return f"{self.results}/replicates"

    @property
    def figures(self):
        return f"{self.results}/figures"

    @property
    def logs(self):
        return f"{self.results}/logs"

    @property
    def benchmarks(self):
        return f"{self.results}/benchmarks"

    def figure(self, number, slug):
        """Figure ``number``'s PNG and PDF (``slug`` may hold a ``{layer}`` wildcard)."""
        stem = f"{self.figures}/fig{number:02d}_{slug}"
        return [f"{stem}.png", f"{stem}.pdf"]

    def layer(self, stage, layer, name):
        """A per-layer file: ``<stage directory>/<layer>/<name>`` (``layer`` may be ``{layer}``)."""
        return f"{getattr(self, stage)}/{layer}/{name}"
