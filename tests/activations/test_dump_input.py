"""The input pixels reduced as a layer is: the probes' layer 0."""
import numpy as np

from cellscape.activations.dump import reduce_images
from cellscape.activations.reduce import reduce_streamed


def test_input_pixels_reduce_like_a_finished_dump_of_them_in_the_selections_order():
    images = np.random.default_rng(0).random((40, 2, 8, 8)).astype(np.float32)
    rows = np.array([5, 1, 30, 2, 17, 9, 11, 3, 25, 39, 0, 8])
    for method in ("projection_pca", "rpca"):
        reduced = reduce_images(images, rows, method, k=4, seed=1, batch_size=5)
        expected = reduce_streamed(images[rows].reshape(len(rows), -1), method, 4, 1, progress=False)
        assert reduced.shape == (12, 4) and reduced.dtype == np.float32
        np.testing.assert_allclose(reduced, expected, rtol=1e-4, atol=1e-5)
