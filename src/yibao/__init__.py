"""Yibao (医保): DRG/DIP medical-insurance payment platform."""

__version__ = "0.1.0"
