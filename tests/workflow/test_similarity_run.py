"""The similarity stage on a tiny run with a copy of the classifier from a second seed: CKA of
every pair of layers of the classifier, the copy and the regression network, each layer's best
match, Fig. 26; and planning: copies only when asked for."""
import numpy as np
import pandas as pd
import pytest
import yaml

from cellscape.model.architecture import layer_names
from support.workflow import REPO, planned_rules, snakemake
from support.hsic import unbiased_hsic

RESULTS = "results/tiny_seeds"
TARGETS = [f"{RESULTS}/metrics/cka.csv", f"{RESULTS}/metrics/cka_matches.csv", f"{RESULTS}/figures/fig26_cka.png"]
TINY = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())


def replicate_config(directory, replicates=1):
    path = directory / "seeds.yaml"
    path.write_text(yaml.safe_dump({"results": RESULTS, "similarity": {"replicates": replicates}}))
    return path



def debiased_cka(X, Y):
    """The default estimator written out: CKA from the unbiased HSIC of linear kernels."""
    K, L = X @ X.T, Y @ Y.T
    return unbiased_hsic(K, L) / np.sqrt(unbiased_hsic(K, K) * unbiased_hsic(L, L))


def test_copies_from_other_seeds_are_trained_only_when_asked_for(tmp_path):
    jobs = planned_rules(tmp_path, REPO / "configs" / "tiny.yaml")
    assert jobs.get("cka") == 1 and "replicate_train" not in jobs, jobs
    jobs = planned_rules(tmp_path, REPO / "configs" / "tiny.yaml", replicate_config(tmp_path, 2))
    assert jobs.get("replicate_train") == 2 and jobs.get("replicate_layers") == 2 and jobs.get("cka") == 1, jobs


@pytest.mark.slow
@pytest.mark.trains
def test_tiny_run_with_a_second_seed_compares_every_layer_of_every_network(tmp_path):
    r = snakemake(tmp_path, *TARGETS, "--cores", "2", "--configfile", str(REPO / "configs" / "tiny.yaml"),
                  str(replicate_config(tmp_path)))
    assert r.returncode == 0, (r.stdout + r.stderr)[-5000:]
    results = tmp_path / RESULTS
    layers = layer_names(TINY["model"], 78, 2)
    table = pd.read_csv(results / "metrics" / "cka.csv")
    networks = {"classifier": layers, "seed1": layers, "regression": TINY["mda"]["layers"]}
    keys = [(net, layer) for net, net_layers in networks.items() for layer in net_layers]
    assert len(table) == len(keys) * (len(keys) + 1) // 2  # every unordered pair once, self-pairs included
    assert set(table["network_a"]) | set(table["network_b"]) == set(networks)
    assert table["cka"].between(-0.1, 1 + 1e-6).all() and (table["estimator"] == "debiased").all()
    self_pairs = table[(table["network_a"] == table["network_b"]) & (table["layer_a"] == table["layer_b"])]
    np.testing.assert_allclose(self_pairs["cka"], 1.0, atol=1e-5)
    # the classifier's dumps stay: two of its layers' CKA recomputed from them on the selected cells
    n_cells = len(pd.read_csv(results / "activations" / "selection.csv"))
    assert (table["cells"] == n_cells).all()
    first, last = layers[1], layers[-2]
    X = np.load(results / "activations" / first / "features.npy").astype(np.float64)
    Y = np.load(results / "activations" / last / "features.npy").astype(np.float64)
    row = table[(table["network_a"] == "classifier") & (table["layer_a"] == first)
                & (table["network_b"] == "classifier") & (table["layer_b"] == last)]
    assert row["cka"].item() == pytest.approx(debiased_cka(X, Y), abs=1e-5)
    # the copy's dumps were temporary: read by the CKA job, then removed
    assert not list((results / "replicates" / "seed1" / "activations").glob("*/features.npy"))
    matches = pd.read_csv(results / "metrics" / "cka_matches.csv")
    assert set(matches["network_b"]) == {"seed1", "regression"}
    assert list(matches[matches["network_b"] == "seed1"]["layer_a"]) == layers
    assert matches["match"].isin(["same", "adjacent", "other"]).all()
    assert (results / "figures" / "fig26_cka.pdf").exists()
    print(matches.to_string(index=False))
