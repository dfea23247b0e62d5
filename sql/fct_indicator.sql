-- marts.fct_indicator: SIMD indicators, long. `suppressed` marks the publisher's '*';
-- a suppressed cell has a NULL value, never a zero.
CREATE OR REPLACE TABLE marts.fct_indicator AS
SELECT
    dz_code,
    vintage,
    indicator,
    CAST(value AS DOUBLE) AS value,
    CAST(numerator AS DOUBLE) AS numerator,
    CAST(denominator AS DOUBLE) AS denominator,
    unit,
    CAST(suppressed AS BOOLEAN) AS suppressed
FROM staging.simd_indicator
ORDER BY vintage, indicator, dz_code;
