"""An independent formulation of the unbiased HSIC (Song et al. 2012, Eq. 5), the yardstick the
CKA tests check the similarity stage against."""
import numpy as np


def unbiased_hsic(K, L):
    """The unbiased HSIC estimator of two Gram matrices, their diagonals zeroed."""
    n = len(K)
    K, L = K - np.diag(np.diag(K)), L - np.diag(np.diag(L))
    one = np.ones(n)
    return (np.trace(K @ L) + (one @ K @ one) * (one @ L @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ K @ L @ one) / (n * (n - 3))
