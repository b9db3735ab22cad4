"""What every image source yields: the raw event record, the error that names a bad input, and
the kind of an event without a class. Shared by the folder readers (``readers``) and the .cif
reader (``cif``), which ``readers`` dispatches to."""
from dataclasses import dataclass


class InputError(ValueError):
    """Bad input: the message names the file (or config key) and the problem.

    ``kind`` says what is wrong in a few words a user knows (``missing partner channel``,
    ``unreadable file``...): the reason quality control records and Fig. 2 counts."""

    def __init__(self, message, kind="unreadable file"):
        super().__init__(message)
        self.kind = kind


#: the class part of the id of an event without a class (``data.labels`` found none)
UNLABELLED = "(unlabelled)"


@dataclass(frozen=True)
class Event:
    """One raw event: where its files are and how to read them.

    ``problem``: set when the event cannot be read whatever its pixels (a per-channel event
    without its partner file): reading it raises that :class:`InputError`.
    ``locator``: where in its file a ``cif`` event is (object number, image and mask directory offsets)."""
    object: str
    cls: str
    layout: str          # "per_channel", "stack", "rgb" or "cif"
    files: tuple         # per_channel: a file per channel in the configured order, or the files present; else (file,)
    problem: InputError = None
    locator: tuple = None

    @property
    def id(self):
        return f"{self.cls if self.cls is not None else UNLABELLED}/{self.object}"

    @property
    def source(self):
        if self.locator is not None:  # one file holds many events: <file>#<object number>
            return f"{self.files[0]}#{self.locator[0]}"
        return str(self.files[0])


#: the ``kind`` of an event without a class: recorded in qc.csv, never a stop
NO_LABEL = "no label"
