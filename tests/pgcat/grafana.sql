-- Queries Grafana's PostgreSQL data source sends (query builder: version,
-- TimescaleDB probe, schemas, tables, columns), from
-- public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts
-- (grafana/grafana).  Format: tests/pgcat/README.md.

-- source: grafana postgresMetaQuery.ts getVersion()
-- expect-rows: [[1500]]
SELECT current_setting('server_version_num')::int/100 as version
-- next
-- source: grafana postgresMetaQuery.ts getTimescaleDBVersion()
-- expect-count: 0
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'
-- next
-- source: grafana postgresMetaQuery.ts showSchemas()
-- expect-contains: ["public"]
SELECT schema_name AS "name"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name
-- next
-- source: grafana postgresMetaQuery.ts showTables('public')
-- expect-contains: ["pgcat_all"]
SELECT quote_ident(table_name) AS "table"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'public'
      ORDER BY 1
-- next
-- source: grafana postgresMetaQuery.ts showTables() (schemas on the search path first)
-- expect-contains: ["pgcat_all"]
SELECT
    CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          ) THEN 0 ELSE 1 END, 1
-- next
-- source: grafana postgresMetaQuery.ts getSchema('pgcat_all') (the columns of a table)
-- expect-contains: ["carrier", "text"]
-- expect-contains: ["flightnum", "integer"]
-- expect-contains: ["tags", "ARRAY"]
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('pgcat_all'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('pgcat_all'))[1]
          AND quote_ident(table_name) = (parse_ident('pgcat_all'))[2]
        ELSE quote_ident(table_name) = 'pgcat_all'
          AND 
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END
