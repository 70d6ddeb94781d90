"""The ``sqlsentinel`` command line (an edge: it translates, the core decides)."""
