"""What runs the engine for a question: records on disk, ensembles, sweeps and their reports, the
EMA Workbench adapter, the bargaining space, the checks against history and theory.
"""
