"""Everything planning knows of one configuration, worked out once: the Snakefile, the tools and
the benchmarks read it here instead of each resolving the channels, the network and the costs
again.

``build(config)`` takes the validated config (``image_size: auto`` is decided here, from the
data's headers, and written back into it) and returns a :class:`Plan`; a setting that cannot
work raises :class:`PlanError` with the sentence the user reads.
"""
from dataclasses import dataclass, field

from ..data.channels import ChannelError, display, resolve_channels
from ..model.architecture import ArchitectureError, layer_shapes, resolve_layer
from ..model.spec import ModelSpec, model_spec, project_network
from .errors import PlanError
from .cells import selection_size_note
from .costs import DIRECTORY_EVENTS, CostModel, source_events
from .featvis import FeatvisJobs
from .mda import MdaPlan, mda_plan
from .source import SourcePlan, source_plan
from .studies import StudiesPlan, studies_plan
from .paths import Paths


@dataclass
class Plan:
    """One configuration's planning facts (see the module docstring)."""

    config: dict
    #: the image set's channels in order ({name, file, stack, band, kind, colour, threshold})
    channels: list
    paths: Paths
    spec: ModelSpec
    #: the project's own network (the MDA regression net is one whatever the classifier)
    project_shapes: list
    project_network: dict
    costs: CostModel
    project_costs: CostModel
    #: the sentence saying which image size ``image_size: auto`` chose (None: it was set)
    image_size_note: str = None
    #: configured layers the network lacks and what replaced them (said once at planning)
    notes: list = field(default_factory=list)
    #: the feature-visualisation stage's jobs (layers, chunks, slots, costs)
    featvis: FeatvisJobs = None
    #: the MDA stage's layers and target
    mda: MdaPlan = None
    #: the simulator's settings and chunks, or the real source checked
    source: SourcePlan = None
    #: the label-free network, the similarity stage's networks and the concept stage's layers
    studies: StudiesPlan = None

    @property
    def external_model(self):
        return self.spec.external

    @property
    def channel_display(self):
        """What figures and the explorer show of each channel (name, kind, colour)."""
        return display(self.channels)

    @property
    def layers(self):
        return [s.name for s in self.spec.shapes]

    @property
    def conv_layers(self):
        return [s.name for s in self.spec.shapes if s.kind == "conv"]

    @property
    def project_layers(self):
        return [s.name for s in self.project_shapes]

    def layer(self, requested, key, layers=None):
        """A layer named in the config by the one policy (model.architecture.resolve_layer): of
        the classifier, or of ``layers`` (the project's own network's, for the MDA stage). A
        substitution is added to ``notes``."""
        try:
            if layers is None:
                external = self.external_model
                return resolve_layer(requested, self.layers, key, self.notes,
                                     self.spec.kinds if external else None, self.spec.paths if external else None)
            return resolve_layer(requested, layers, key, self.notes)
        except ArchitectureError as err:
            raise PlanError(str(err)) from None


def directory_events(config, channels):
    """(events, None) of a directory source, listed once (file names only), or (None, why the
    listing failed): ingestion then says it again, naming the file."""
    from ..data.readers import InputError, discover_events
    data = config["data"]
    try:
        return discover_events(data["directory"], config["classes"], channels, data["labels"]), None
    except (InputError, OSError, TypeError) as err:
        return None, err


def auto_image_size(config, events, problem=None):
    """``image_size: auto`` -> (size, the sentence saying so): the simulator's frame, or the
    longer side of most frames of a directory source (data.readers.auto_image_size)."""
    from ..data.readers import auto_image_size as frames_size
    from ..data.simulate import DEFAULTS
    data = config["data"]
    if data["source"] == "synthetic":
        size = config["simulator"].get("frame_size", DEFAULTS["frame_size"])
        return size, f"cellscape: image_size auto: {size} px, the simulator's frame"
    if events is None:
        raise PlanError(f"config image_size auto: cannot read the frames of data.directory ({problem}); "
                        "set image_size to a number")
    found = frames_size(events, data["fit"], data["rgb"]["crop"])
    if found is None:
        raise PlanError("config image_size auto: no frame of data.directory declares its shape; "
                        "set image_size to a number")
    size, facts = found
    fate = "larger frames are centre-cropped" if data["fit"] == "pad_crop" else "every frame is resized to it"
    return size, (f"cellscape: image_size auto: {size} px, the longer side of {facts['quantile']:.0%} of "
                  f"{facts['frames']} frames (largest {facts['largest']} px; {fate})")


def build(config):
    """The :class:`Plan` of a validated ``config`` (see the module docstring)."""
    try:
        channels = resolve_channels(config["data"])
    except ChannelError as err:
        raise PlanError(str(err)) from None
    note = None
    directory = config["data"]["source"] == "directory"
    listed, problem = directory_events(config, channels) if directory else (None, None)
    if config["image_size"] == "auto":  # a planning fact (the network's shape)
        config["image_size"], note = auto_image_size(config, listed, problem)
    external = config["model"]["source"] != "train"
    if config["data"]["split"] == "none" and not external:
        raise PlanError("config data.split: none needs a network trained elsewhere (model.source); "
                        "the workflow's own training needs a split")
    try:
        spec = model_spec(config, channels=channels)
    except ArchitectureError as err:
        raise PlanError(f"config model: {err}" if not external else f"cellscape: {err}") from None
    n_classes = len(config["classes"])
    project_shapes = spec.shapes if not external else layer_shapes(config["model"], config["image_size"], 1)
    n_images = (len(listed) if listed else DIRECTORY_EVENTS) if directory else source_events(config, channels)
    costs = CostModel(config, spec.shapes, spec.n_parameters if external else None, channels, n_images)
    project_costs = costs if not external else CostModel(config, project_shapes, None, channels, costs.n_images)
    plan = Plan(config=config, channels=channels, paths=Paths(config["results"]), spec=spec,
                project_shapes=project_shapes, project_network=project_network(config, n_classes, channels),
                costs=costs, project_costs=project_costs, image_size_note=note)
    try:
        plan.featvis = FeatvisJobs(config["featvis"], spec.shapes, plan.paths.featvis, external=external,
                                   flops=spec.flops, in_channels=len(channels))
    except ArchitectureError as err:
        raise PlanError(str(err)) from None
    plan.notes += plan.featvis.notes
    too_few = selection_size_note(listed, config) if listed else None
    if too_few:
        plan.notes.append(too_few)
    plan.mda = mda_plan(plan)
    plan.source = source_plan(config, channels)
    plan.studies = studies_plan(plan)
    similarity_sizes = plan.studies.similarity_sizes(plan)
    for model in (costs, project_costs):  # what the render, MDA dump, CKA and concept costs are computed from
        model.featvis, model.mda_layers = plan.featvis, plan.mda.layers
        model.similarity_sizes = similarity_sizes
        model.concept_layers = plan.studies.concept_layers
    return plan
