"""The one error planning raises: a configuration that cannot work, said in the user's terms."""


class PlanError(ValueError):
    """A configuration that cannot be planned; the message names the setting."""
