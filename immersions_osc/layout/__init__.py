"""Neural layout: every neuron of a conv network placed in 2D by a multilevel Barnes-Hut force
simulation.  graph (the neuron graph), forces (exact and Barnes-Hut repulsion), simulate
(integration, multilevel, snapshots), metrics, export, render, command (the CLI)."""
