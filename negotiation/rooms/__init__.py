"""Workshop rooms: people in countries' seats, the clock, access, the record, the live updates, the
snapshots the pages show and the debrief in words. No page.
"""
