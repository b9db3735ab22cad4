"""Export the run's per-cell results where cytometrists and single-cell researchers already work:
an FCS 3.1 file for gating tools (FlowJo, FCS Express, flowCore) and an AnnData ``.h5ad`` file for
scanpy. ``cells`` assembles one table of the embedded cells with checked joins (``joins``), ``fcs``
and ``anndata_export`` write it, ``parts`` plans how many FCS files the layers need (imported by
the Snakefile at planning, so it needs nothing but the standard library). docs/formats.md, export/,
describes both files."""
