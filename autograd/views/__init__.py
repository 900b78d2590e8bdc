"""The views of a graph: drawing, grouping, layout, the step-by-step passes and their player."""
