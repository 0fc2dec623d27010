"""The medical-list catalogue (医保目录): versions with validity dates and their
entries (ADR 0016)."""
