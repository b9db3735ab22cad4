"""What every rule script shares: log and thread set-up (``rulerun``), atomic file writes
(``io``), and the allocator setting of the dumps (``malloc``).
"""
