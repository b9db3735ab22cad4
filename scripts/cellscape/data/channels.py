"""The image set's channels: what each is called, where an export keeps it, how it is cleaned.

``data.channels`` lists 1 to 12 channels in the order the image set stores them. Each has a
``name`` (column names use it: ``intensity_<name>``), where an export keeps it (``file``: the
``Ch<k>`` suffix of per-channel TIFFs; ``stack``: the index in a multi-channel stack, by default
its position in the list; ``band``: the RGB band of a stained-smear photograph, read as optical
density), its ``kind`` (``fluorescence``, ``darkfield``: dark background, the paper's threshold
rule; ``brightfield``: bright background, the cell is the deviation from it) and a display
``colour``; ``mask: instrument`` (ImageStream .cif/.rif only) takes the instrument's mask of the
channel for the cell in place of the threshold rule. Without ``data.channels`` the short form
(``channel_files``, ``stack_channels``, ``rgb`` bands) names the paper's two channels, cytoplasm
(red) and nucleus (green).

Planning and every stage use :func:`resolve_channels`; nothing else knows the channel names.
"""
import re

KINDS = ("fluorescence", "darkfield", "brightfield")
BANDS = ("red", "green", "blue")
MAX_CHANNELS = 12
#: kinds whose pixels outline the cell (the shape checks and the cell mask use them): darkfield
#: (side scatter) is speckled and faint in agranular cells, so it would split or lose the cell
OUTLINE_KINDS = ("fluorescence", "brightfield")
#: display colours of channels that name none, in order (additive composition stays readable)
PALETTE = ("#ff0000", "#00ff00", "#0080ff", "#ff00ff", "#ffff00", "#00ffff", "#ff8000", "#8000ff",
           "#80ff00", "#ff0080", "#00ff80", "#bbbbbb")
#: the paper's channels keep the paper's colours when a channel list names no colour for them
PAPER_COLOURS = {"cytoplasm": "#ff0000", "nucleus": "#00ff00"}
#: what decides a channel's cell pixels: the threshold rule, or the instrument's own mask (.cif/.rif)
MASKS = ("threshold", "instrument")
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
TOKEN = re.compile(r"^[Cc]h[0-9]+$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: the short form's two channels: (name, channel_files default, stack default, band default, colour)
PAPER_CHANNELS = (("cytoplasm", "Ch2", 0, "blue", "#ff0000"), ("nucleus", "Ch4", 1, "red", "#00ff00"))


class ChannelError(ValueError):
    """A channel setting that cannot work; the message names the config key."""


def resolve_channels(data_cfg):
    """The channels of ``data_cfg`` (the validated ``data`` section) as a list of plain dicts
    ``{name, file, stack, band, kind, colour, threshold}`` (JSON-able: a rule param).

    ``threshold`` is the fraction of the channel's maximum under which its pixels become
    background (``data.threshold`` unless the channel sets its own); None for brightfield.
    """
    listed = data_cfg.get("channels")
    short = {key: data_cfg.get(key) for key in ("channel_files", "stack_channels")}
    bands = {k: v for k, v in (data_cfg.get("rgb") or {}).items() if k.endswith("_band") and v is not None}
    if listed is None:
        channels = [{"name": name, "file": (short["channel_files"] or {}).get(name, token),
                     "stack": (short["stack_channels"] or {}).get(name, stack),
                     "band": bands.get(f"{name}_band", band), "kind": "fluorescence", "colour": colour}
                    for name, token, stack, band, colour in PAPER_CHANNELS]
    else:
        given = [key for key, value in short.items() if value is not None] + [f"rgb.{k}" for k in bands]
        if given:
            raise ChannelError(f"config data.channels: also set {', '.join('data.' + g for g in given)}, the "
                               "short form for two channels; name where each channel is found in data.channels "
                               "(file, stack, band) and drop the short form")
        channels = [dict(channel) for channel in listed]
    return [_complete(channel, position, data_cfg.get("threshold", 0.2), data_cfg.get("mask") or "threshold",
                      data_cfg.get("source")) for position, channel in enumerate(_checked_list(channels))]


def _checked_list(channels):
    if not 1 <= len(channels) <= MAX_CHANNELS:
        raise ChannelError(f"config data.channels: {len(channels)} channels; between 1 and {MAX_CHANNELS} are supported")
    for key in ("name", "file", "stack", "band"):
        seen = {}
        for position, channel in enumerate(channels):
            value = channel.get(key)
            if value is None:
                continue
            value = value.capitalize() if key == "file" else value
            if value in seen:
                raise ChannelError(f"config data.channels: channels {seen[value] + 1} and {position + 1} both have "
                                   f"{key} {channel[key]!r}")
            seen[value] = position
    return channels


def _complete(channel, position, default_threshold, default_mask="threshold", source=None):
    where = f"config data.channels[{position}]"
    name = channel.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ChannelError(f"{where}: name {name!r} must start with a letter and hold only letters, digits and _")
    where = f"{where} ({name})"
    kind = channel.get("kind", "fluorescence")
    if kind not in KINDS:
        raise ChannelError(f"{where}: unknown kind {kind!r}; one of {', '.join(KINDS)}")
    token = channel.get("file")
    if token is not None and not TOKEN.match(str(token)):
        raise ChannelError(f"{where}: file {token!r} must be a channel suffix like Ch4")
    band = channel.get("band")
    if band is not None and band not in BANDS:
        raise ChannelError(f"{where}: band {band!r}; one of {', '.join(BANDS)}")
    colour = channel.get("colour", PAPER_COLOURS.get(name, PALETTE[position % len(PALETTE)]))
    if not isinstance(colour, str) or not COLOUR.match(colour):
        raise ChannelError(f"{where}: colour {colour!r} must be #rrggbb")
    threshold = channel.get("threshold")
    mask = channel.get("mask", default_mask)
    if mask not in MASKS:
        raise ChannelError(f"{where}: mask {mask!r}; one of {', '.join(MASKS)}")
    if mask == "instrument":
        if source != "cif":
            raise ChannelError(f"{where}: mask instrument: only ImageStream .cif/.rif files (data.source: cif) "
                               "carry the instrument's masks")
        if threshold is not None:
            raise ChannelError(f"{where}: a channel cut out by the instrument's mask (mask: instrument) has no "
                               "threshold; drop one of them")
        threshold = 0.0 if kind != "brightfield" else None
    if kind == "brightfield":
        if threshold is not None:
            raise ChannelError(f"{where}: a brightfield channel has no threshold (its background is bright: the "
                               "border's level is subtracted and the noise floor decides what is cell)")
    else:
        threshold = default_threshold if threshold is None else float(threshold)
        if not 0 <= threshold <= 1:
            raise ChannelError(f"{where}: threshold {threshold} must be within [0, 1]")
    stack = channel.get("stack", position)
    if not isinstance(stack, int) or stack < 0:
        raise ChannelError(f"{where}: stack {stack!r} must be an index >= 0")
    unknown = set(channel) - {"name", "file", "stack", "band", "kind", "colour", "threshold", "mask"}
    if unknown:
        raise ChannelError(f"{where}: unknown key(s) {sorted(unknown)}")
    resolved = {"name": name, "file": token.capitalize() if token else None, "stack": stack, "band": band,
                "kind": kind, "colour": colour.lower(), "threshold": threshold}
    return resolved | ({"mask": mask} if mask == "instrument" else {})


def channel_names(channels):
    return [c["name"] for c in channels]


def outline_channels(channels):
    """Indices of the channels that outline the cell (fluorescence, brightfield); every channel
    when there is none of those kinds (a darkfield-only set)."""
    chosen = [i for i, c in enumerate(channels) if c["kind"] in OUTLINE_KINDS]
    return chosen or list(range(len(channels)))


def display(channels):
    """What figures and the explorer need of each channel: name, kind and colour."""
    return [{"name": c["name"], "kind": c["kind"], "colour": c["colour"]} for c in channels]


def rgb_colours(channels):
    """(C, 3) float colours in [0, 1] of ``channels`` (dicts with ``colour``)."""
    return [[int(c["colour"][i:i + 2], 16) / 255 for i in (1, 3, 5)] for c in channels]


#: the MDA stage's built-in targets (cellscape.mda.target) that measure a channel of that name
NEEDS = {"nucleus_area_ratio": "nucleus", "nucleus_area": "nucleus", "nucleus_intensity": "nucleus",
         "cytoplasm_intensity": "cytoplasm"}
#: the paper's two channels: both outline the cell, channel 1 is the nucleus, channel 0 the cytoplasm
PAPER_ROLES = {"outline": [0, 1], "nucleus": 1, "cytoplasm": 0, "n_channels": 2}


def channel_roles(channels):
    """Which of the resolved ``channels`` the measurements use (a rule param): the channels that
    outline the cell, and the index of the channel named nucleus / cytoplasm (None: absent)."""
    names = [c["name"] for c in channels]
    return {"outline": outline_channels(channels), "n_channels": len(names),
            "nucleus": names.index("nucleus") if "nucleus" in names else None,
            "cytoplasm": names.index("cytoplasm") if "cytoplasm" in names else None}


def resolve_mda_target(target, roles):
    """``mda.target``: ``auto`` is the nucleus-to-cell area ratio where a channel is named nucleus,
    else the cell area (every image set has one: label-free channels, stains of other names);
    any other value is taken as it is."""
    if target != "auto":
        return target
    return "nucleus_area_ratio" if roles["nucleus"] is not None else "cell_area"


def missing_channel(target, roles):
    """The channel a built-in ``target`` needs and the image set lacks, or None."""
    needed = NEEDS.get(target)
    return needed if needed and roles[needed] is None else None


#: kinds an imaging flow cytometer records without a stain: a network on these alone needs no labelling
LABEL_FREE_KINDS = ("brightfield", "darkfield")


def label_free_channels(channels):
    """Indices of the channels recorded without a stain (brightfield, darkfield)."""
    return [i for i, c in enumerate(channels) if c["kind"] in LABEL_FREE_KINDS]


def label_free_plan(setting, channels, external=False):
    """(train the label-free network?, a note for the user or None) for ``channel_use.label_free``
    (``"auto"``, True or False).

    ``auto`` trains it when the channels mix stains and label-free kinds: only then does "do the
    stains add anything?" have an answer (a two-stain set has no label-free channel; a label-free
    set's classifier already is one). A network trained elsewhere (``external``) is not compared:
    its training is unknown, so a label-free network trained here would differ in more than its
    channels. ``true`` where it cannot work raises :class:`ChannelError`.
    """
    free = label_free_channels(channels)
    if setting is False:
        return False, None
    if setting == "auto":
        if external:
            return False, None
        return 0 < len(free) < len(channels), None
    if not free:
        raise ChannelError("config channel_use.label_free: true, but data.channels has no label-free channel "
                           f"(kind {' or '.join(LABEL_FREE_KINDS)}); set it to auto or false")
    if len(free) == len(channels):
        raise ChannelError("config channel_use.label_free: true, but every channel is label-free: the classifier "
                           "already is the label-free network; set it to auto or false")
    if external:
        return False, ("cellscape: channel_use.label_free: the classifier was trained elsewhere (model.source), so "
                       "no label-free network is trained to compare with it (its training settings are unknown); "
                       "the channel ablation (fig23) still runs")
    return True, None
