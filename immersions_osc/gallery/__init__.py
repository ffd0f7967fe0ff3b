"""The gallery: for every channel of every layer, the excerpts of the user's music that excite it
most, and its activation distribution on that music (live activations as percentiles).

- :mod:`.core`: pure (arrays in, arrays out): excerpt scores from a stream of columns, the top-k
  keeper with diversity, the percentile sketch;
- :mod:`.build`: the resumable streaming pass of the model over the music (files at its edges);
- :mod:`.store`: a written gallery, loaded (the service and the viewer read it);
- :mod:`.command`: ``immersions-osc gallery``.
"""
