"""CLI command modules; each registers its commands on ``server.cli.cgt`` when imported."""
