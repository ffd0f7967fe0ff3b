"""The live service (:class:`.server.Service`): the model, the loop generator, the audio back-end,
the activation stream and OSC control, joined; :mod:`.command` is ``serve``, ``demo`` and
``osc-table``."""
