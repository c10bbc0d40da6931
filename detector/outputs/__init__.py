"""Outputs of a scan, kept apart from the inference core: the HTML report (:mod:`.report`, with its score
timelines, :mod:`.timeline`, and occlusion maps, :mod:`.occlusion`), the shared HTML page shell the scan and
audit reports both use (:mod:`.html`), and the demo clip (:mod:`.demo`).

Nothing in the core (``detector.api`` and what it imports) imports this package.
"""
