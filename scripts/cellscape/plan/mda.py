"""The MDA stage's plan: which layers of the regression network are embedded and drawn, which of
the classifier's layers Fig. 22 shows, and what the regression network learns."""
from dataclasses import dataclass

from ..data.channels import channel_roles, missing_channel, resolve_mda_target
from .errors import PlanError


@dataclass
class MdaPlan:
    #: the regression net's layers that are embedded and scored (mda.layers; empty: every layer)
    layers: list
    #: those drawn in Figs. 20-21 (mda.figure_layers; empty: every embedded layer)
    figure_layers: list
    #: the classifier's layers of Fig. 22 (in a network from elsewhere, chosen by kind)
    classifier_layers: list
    #: which channels outline the cell and which are the nucleus and cytoplasm
    channel_roles: dict
    #: what the regression network learns (mda.target; auto: the nucleus-to-cell ratio, or the
    #: cell area where no channel is named nucleus; a path: the user's values)
    target: str


def mda_plan(plan):
    """The :class:`MdaPlan` of a :class:`cellscape.plan.build.Plan` (layers by the plan's policy);
    a target that measures a channel the data lacks is a PlanError."""
    config = plan.config
    project = plan.project_layers
    layers = list(dict.fromkeys(plan.layer(layer, "mda.layers", project) for layer in config["mda"]["layers"])) or project
    figure_layers = list(dict.fromkeys(plan.layer(layer, "mda.figure_layers", project)
                                       for layer in config["mda"]["figure_layers"])) or layers
    classifier_layers = (figure_layers if not plan.external_model else
                         list(dict.fromkeys(plan.layer(layer, "mda.figure_layers") for layer in figure_layers)))
    roles = channel_roles(plan.channels)
    target = resolve_mda_target(config["mda"]["target"], roles)
    if config["mda"]["enabled"] and missing_channel(target, roles):
        raise PlanError(f"config mda.target {target}: measures the channel named {missing_channel(target, roles)}, "
                        f"and data.channels has none ({', '.join(c['name'] for c in plan.channels)}): choose "
                        "cell_area, a target file, or mda.enabled: false")
    return MdaPlan(layers, figure_layers, classifier_layers, roles, target)
