"""The ``xiangmap`` command line: one module per command group."""
