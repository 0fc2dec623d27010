"""Intelligent audit (智能审核 / 监管, issue 13, ADR 0021): the knowledge base and the rule
base as versioned data, their Excel sheets, and the compiled rule set each server
process keeps (reloaded within seconds of a publication)."""
