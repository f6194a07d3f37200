"""Constructs with one concern each; stacks compose them."""
