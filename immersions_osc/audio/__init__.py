"""Playing the loop, a leaf library (it imports nothing of the service): the loop player
(:mod:`.player`) and its back-ends -- JACK (:mod:`.jack`), PortAudio (:mod:`.portaudio`), a
real-time clock without a sound card (:mod:`.clock`), the choice among them (:mod:`.backends`) and
the back-end in a process of its own (:mod:`.process`) -- with real-time scheduling
(:mod:`.realtime`), loops in bars at a tempo (:mod:`.tempo`) and Ableton Link (:mod:`.link`)."""
