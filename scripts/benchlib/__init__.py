"""Pieces the benchmark scripts share: timing summaries, a lean HTTP client and a running
``customers serve``, the sync-lag measurement, and Medusa's peer benchmark.

Scripts put ``scripts/`` on ``sys.path`` and import ``benchlib.<module>``; nothing here is
imported by the service itself.
"""
