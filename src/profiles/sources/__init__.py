"""Parsers of published source files into staging frames (`profiles.contract.STG_*`).

What belongs here: one module per family of published files, each turning a file on disk
into a pandas frame with the contract's staging columns and raising
`profiles.errors.SourceFormatError` (file, row, field) on bad input. No warehouse access,
no downloads.

- `simd`: SIMD "with indicators" tables (ranks, bands, indicators, population), and
  `detect_simd_vintage` for classifying files by header.
- `statsgov`: statistics.gov.scot SPARQL CSV results (SIMD long format) and "cube-table"
  whole-cube downloads.
- `lookup`: the statistics.gov.scot Data Zone lookup (DZ -> IZ -> ward -> council).
- `population`: NRS small area population estimates.
- `postcodes`: postcode directories (NSPL / Scottish Postcode Directory).
- `boundaries`: data zone and ward boundary files.
- `discover`: classifying the files of a source folder by their headers.
"""
