"""Live downloads from statistics.gov.scot, with a raw cache for offline replay.

What belongs here: the network side of the pipeline only. `http` fetches one URL robustly
into a file, `cache` keeps verified downloads by content hash with a manifest, and
`statsgov` knows which URLs and SPARQL queries make up a statistics.gov.scot load.
Parsing the downloaded files is the job of `profiles.sources`.
"""
