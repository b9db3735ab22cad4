"""Stage 2, model: the classifier, its training and evaluation.

``architecture`` and ``spec`` (layer shapes and the rules' ``network`` param, torch-free: the
Snakefile plans jobs with them), ``network`` (the paper's network), ``precision`` (float32 or
bfloat16), ``training``, ``evaluation``; ``loading.load_network``, the one way to open the
classifier of any source (``sources``: one module per ``model.source``; ``adapter``: a network
from elsewhere as the workflow sees the paper's); ``inspect`` (a foreign network's layers and
contract, at planning), ``taps`` (TorchScript layer outputs) and ``hooks``: the one helper every
later stage uses to read a layer's outputs; ``channel_use`` (the channel ablation).
"""
