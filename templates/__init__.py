"""The compiler's jinja2 templates, shipped as package data."""
