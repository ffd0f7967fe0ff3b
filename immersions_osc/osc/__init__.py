"""The wire format, a leaf library (it imports nothing of the service): the OSC codec and chunked
vectors (:mod:`.protocol`), control messages parsed and matched on python-osc (:mod:`.incoming`),
the table of every control and message (:mod:`.controls`, which docs/osc.md and controls.json are
generated from), and the numpy-only client decoder that TouchDesigner imports (:mod:`.decoder`)."""
