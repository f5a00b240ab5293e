"""The dispatcher's planning pages: `plans` (the plans list, one plan's table view, its
edits, route sheets) and `board` (the dispatch board)."""
