"""DIP (按病种分值付费) as a bureau runs it: catalogues built from the region's cases
as versioned data (issue 14, ADR 0029)."""
