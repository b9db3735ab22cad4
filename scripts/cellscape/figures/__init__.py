"""Figure code: one module per stage, all sharing ``common`` (the channel composite, saving)."""
