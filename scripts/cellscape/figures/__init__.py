"""Figure code: one module per stage, all sharing ``common`` (false colour, saving)."""
