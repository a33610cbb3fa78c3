"""The /v2/ HTTP surface: one module per resource, each a method -> handler map; dispatch.py
routes, authorizes once and turns errors into spec bodies. No chalice import here."""
