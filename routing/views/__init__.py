"""The dispatcher's planning pages: `plans` (the plans list, one plan's table view, its
edits, route sheets), `board` (the dispatch board) and `labels` (parcel labels, PDF)."""
