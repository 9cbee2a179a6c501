"""Test doubles that speak the real wire protocols (HTTP on localhost), so the real clients run."""
