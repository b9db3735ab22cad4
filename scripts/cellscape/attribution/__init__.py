"""Stage 6, attribution: which pixels a prediction rests on (``methods``), and the checks a
reviewer asks of each method: model and label randomisation (``randomisation``, scored inside the
cell by ``similarity``), pixel-flipping faithfulness (``faithfulness``), localisation
(``localisation``), summarised in one table (``quality``) and judged by one rule (``verdict``).
"""
