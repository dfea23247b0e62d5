"""Profile packs for Local Community Planning Partnerships: files built from published marts.

What belongs here: `data` (the frames a pack needs, read from the warehouse), the writers
(`excel`, `html` with `charts` and `templates/`, `tables`, `geopackage`), `safety` (inert
spreadsheet text, safe file names) and `pack`, which writes one folder per council. The
writers are pure: they take DataFrames and write files; only `data.load_pack_data` reads
the warehouse.
"""
