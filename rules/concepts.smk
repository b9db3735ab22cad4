# Stage 10, concepts: encoded versus used. For each measure of concepts.measures and each layer,
# its direction (regression concept vectors), the class sensitivity along it and its TCAV score
# against random directions of the layer. Runs when concepts.measures names any (it computes a
# gradient of every class at every tested layer for every shown cell). Exports CONCEPT_TARGETS.

CONCEPTS = config["concepts"]
#: the tested layers (cellscape.plan.studies: concepts.layers, or every layer but the logits)
CONCEPT_LAYERS = PLAN.studies.concept_layers
CONCEPT_TARGETS = [f"{METRICS}/concepts.csv"] + figure(27, "concepts") if CONCEPTS["measures"] else []


rule concepts:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        classes=f"{DATA}/classes.json",
        selection=f"{ACT}/selection.csv",
        table=f"{DATA}/index.csv",
        reduced=expand(f"{ACT}/{{layer}}/reduced.npy", layer=CONCEPT_LAYERS),
        features=expand(f"{ACT}/{{layer}}/features.npy", layer=CONCEPT_LAYERS),
    output:
        table=f"{METRICS}/concepts.csv",
        figure=report(figure(27, "concepts"), caption="../report/concepts.rst", category="2 Model"),
    log:
        f"{LOGS}/concepts.log",
    benchmark:
        f"{BENCH}/concepts.tsv"
    params:
        network=NETWORK,
        layers=CONCEPT_LAYERS,
        measures=CONCEPTS["measures"],
        folds=CONCEPTS["folds"],
        random=CONCEPTS["random_directions"],
        alpha=CONCEPTS["alpha"],
        batch_size=config["activations"]["batch_size"],
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb_concepts(CONCEPT_LAYERS, len(CONCEPTS["measures"]) * CONCEPTS["folds"]
                                   + CONCEPTS["random_directions"]),
        runtime=RES.runtime("concepts"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/concepts.py"
