"""Encoded versus used: whether the classifier's decision moves along a direction of a layer's
activation space (a probe's direction for a cytometry feature), measured as TCAV does
(``sensitivity``: directional derivatives of the class logits, TCAV scores, their significance
against random directions of the same layer).
"""
