"""The figures: ladder diagram, time-sequence graph, phase timeline (matplotlib, no pyplot state).

Figures read the analysis records only; they never import analysis.report (tests/test_architecture.py).
The public names live in analysis.figures.render and are re-exported here for notebooks:

    from analysis.figures import figure_png, ladder, phase_timeline, time_sequence
"""
from analysis.figures.render import *  # noqa: F401,F403  (re-export: __all__ of render)
from analysis.figures.render import __all__  # noqa: F401
