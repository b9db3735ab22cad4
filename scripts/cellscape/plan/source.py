"""Where the images come from, checked at planning: the simulator's settings and chunks, a .cif
source's files and labels, or a directory."""
from dataclasses import dataclass, field

from ..data.readers import InputError
from ..data.simulate import check_channels, resolve_params
from .errors import PlanError


@dataclass
class SourcePlan:
    #: the simulator's resolved parameters (a rule param), or None for real data
    simulator: dict = None
    #: the simulator's chunk wildcard values ("000", "001", ...)
    chunks: list = field(default_factory=list)


def source_plan(config, channels):
    """The :class:`SourcePlan` of a validated config; a source that cannot work is a PlanError."""
    data = config["data"]
    if data["source"] == "synthetic":
        settings = {k: v for k, v in config["simulator"].items() if k not in ("events", "chunks")}
        try:
            simulator = resolve_params(settings | {"frame_size": config["simulator"].get("frame_size",
                                                                                          config["image_size"])})
        except ValueError as err:
            raise PlanError(f"config simulator: {err}") from None
        if set(config["classes"]) - set(simulator["class_fractions"]):
            raise PlanError(f"config classes {config['classes']}: the simulator makes only "
                            f"{sorted(simulator['class_fractions'])}")
        try:
            check_channels([c["file"] or f"(channel {c['name']} has no file suffix)" for c in channels])
        except ValueError as err:
            raise PlanError(f"config data.channels (simulated data): {err}") from None
        return SourcePlan(simulator, [f"{k:03d}" for k in range(config["simulator"]["chunks"])])
    if data["source"] == "cif":
        from ..data.cif.source import check_config
        try:
            check_config({**data, "channels": channels}, config["classes"])
        except InputError as err:
            raise PlanError(str(err)) from None
    elif not data["directory"]:
        raise PlanError("config data.directory: required when data.source is 'directory'")
    return SourcePlan()
