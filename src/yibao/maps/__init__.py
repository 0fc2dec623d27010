"""Maps (地图定位, issue 15 item 3): a region's boundary map and what it shows."""
