"""Feature visualisation: images that maximally excite a channel of the cell classifier.

Decomposed as tensorflow/lucid's ``optvis``: ``param`` (how images are described),
``objectives`` (what to maximise), ``transforms`` (what the images must be robust to),
``render`` (the optimisation loop, with plateau and saturation stops), ``filtering`` (activation
filtering, paper IV.C) and ``quality`` (saturation, high-frequency energy: docs/featvis.md);
``jobs`` plans the per-layer jobs and ``tasks`` runs them. Import from the submodules: the
package imports nothing, because the rules import the torch-free ``jobs`` while Snakemake parses
the workflow (a torch import there would cost every dry run and job 2.4 s).
"""
