"""The plan of the stages that study the trained network as a whole: the label-free network
(channel ablation's comparison), the similarity stage's networks and the concept stage's layers.
Their jobs' costs are computed from it (``cellscape.plan.costs``)."""
from dataclasses import dataclass

from ..data.channels import ChannelError, label_free_plan
from .errors import PlanError


@dataclass
class StudiesPlan:
    #: whether the label-free network is trained (channel_use.label_free), and what to tell the user
    label_free: bool
    label_free_note: str
    #: the classifier's copies trained from other seeds: ``seed<s>`` (the run's seed + 1, + 2, ...)
    replicates: list
    #: the networks CKA compares, classifier first: {name: (layers, of the project's own network?)}
    similarity_networks: dict
    #: the layers the concept stage tests (concepts.layers; empty: every layer but the logits)
    concept_layers: list

    def similarity_sizes(self, plan):
        """Features per cell of every compared layer (what the CKA job reads)."""
        shapes = {False: {s.name: s for s in plan.spec.shapes}, True: {s.name: s for s in plan.project_shapes}}
        return [shapes[own][layer].size for layers, own in self.similarity_networks.values() for layer in layers]


def studies_plan(plan):
    """The :class:`StudiesPlan` of a :class:`cellscape.plan.build.Plan`; a setting that cannot work
    is a PlanError."""
    config = plan.config
    try:
        label_free, note = label_free_plan(config["channel_use"]["label_free"], plan.channels, plan.external_model)
    except ChannelError as err:
        raise PlanError(str(err)) from None
    count = config["similarity"]["replicates"]
    if count and plan.external_model:
        raise PlanError(f"config similarity.replicates: {count}, but the classifier was trained elsewhere "
                        "(model.source): its training cannot be repeated from another seed; set it to 0")
    replicates = [f"seed{config['seed'] + k}" for k in range(1, count + 1)]
    networks = {"classifier": (plan.layers, False)}
    networks.update({replicate: (plan.layers, False) for replicate in replicates})
    if label_free:
        networks["label_free"] = (plan.layers, False)
    if config["mda"]["enabled"]:
        networks["regression"] = (plan.mda.layers, True)
    concept_layers = (list(dict.fromkeys(plan.layer(layer, "concepts.layers") for layer in config["concepts"]["layers"]))
                      or plan.layers[:-1])
    return StudiesPlan(label_free, note, replicates, networks, concept_layers)
