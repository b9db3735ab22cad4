"""Stage 2, model: the VGG-like network, its training and evaluation.

``architecture`` (layer shapes, torch-free: the Snakefile plans jobs with it), ``network``
(the torch modules), ``training``, ``evaluation``, and ``hooks``: the one helper every later
stage uses to read a layer's outputs.
"""
