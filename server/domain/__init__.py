"""Pure domain rules (stdlib only): working calendar, deadlines, the case workflow."""
