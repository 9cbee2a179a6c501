"""csvanalyst sandbox server."""
