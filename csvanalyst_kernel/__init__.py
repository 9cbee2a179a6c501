"""csvanalyst notebook client."""
