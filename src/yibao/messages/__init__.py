"""互动交流 (issue 15 item 4): notices and threads between a bureau and its hospitals."""
