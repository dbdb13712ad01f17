"""Architecture diagrams drawn from the synthesized stacks (``./tap diagram``).

:mod:`tooling.diagram.model` extracts a graph (:mod:`tooling.diagram.graph`) from the stacks'
JSON, :mod:`tooling.diagram.mermaid` renders it, :mod:`tooling.diagram.generate` writes
``docs/architecture/<environment>.md``.
"""
