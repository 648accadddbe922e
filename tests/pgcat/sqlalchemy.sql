-- Queries SQLAlchemy 1.4's postgresql dialect sends on connect and for
-- Inspector.get_schema_names, get_table_names, get_view_names, has_table,
-- get_columns, get_pk_constraint, get_foreign_keys, get_indexes,
-- get_unique_constraints, get_check_constraints, get_table_comment and
-- Table(autoload_with=...).  Format: tests/pgcat/README.md.

-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 0
SELECT t.oid, typarray
FROM pg_type t JOIN pg_namespace ns
    ON typnamespace = ns.oid
WHERE typname = 'hstore';
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-rows: [["PostgreSQL 15.0 (Waybill) on x86_64-pc-linux-gnu, compiled by gcc, 64-bit"]]
select pg_catalog.version()
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-rows: [["public"]]
select current_schema()
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-rows: [["read committed"]]
show transaction isolation level
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-rows: [["on"]]
show standard_conforming_strings
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-rows: [["information_schema"], ["public"], ["sys"]]
SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' ORDER BY nspname
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-rows: [["pgcat_all"], ["pgcat_pk"]]
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind in ('r', 'p')
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 0
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-rows: [["pgcat_all"]]
select relname from pg_class c join pg_namespace n on n.oid=c.relnamespace where pg_catalog.pg_table_is_visible(c.oid) and relname='pgcat_all'
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 1
SELECT c.oid
            FROM pg_catalog.pg_class c
            LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE (pg_catalog.pg_table_is_visible(c.oid))
            AND c.relname = 'pgcat_all' AND c.relkind in
            ('r', 'v', 'm', 'f', 'p')
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 11
-- expect-contains: ["carrier", "text", null, false]
-- expect-contains: ["ids", "integer[]"]
SELECT a.attname,
              pg_catalog.format_type(a.atttypid, a.atttypmod),
              (
                SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid)
                FROM pg_catalog.pg_attrdef d
                WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum
                AND a.atthasdef
              ) AS DEFAULT,
              a.attnotnull,
              a.attrelid as table_oid,
              pgd.description as comment,
              a.attgenerated as generated,
                              (SELECT json_build_object(
                    'always', a.attidentity = 'a',
                    'start', s.seqstart,
                    'increment', s.seqincrement,
                    'minvalue', s.seqmin,
                    'maxvalue', s.seqmax,
                    'cache', s.seqcache,
                    'cycle', s.seqcycle)
                FROM pg_catalog.pg_sequence s
                JOIN pg_catalog.pg_class c on s.seqrelid = c."oid"
                WHERE c.relkind = 'S'
                AND a.attidentity != ''
                AND s.seqrelid = pg_catalog.pg_get_serial_sequence(
                    a.attrelid::regclass::text, a.attname
                )::regclass::oid
                ) as identity_options                
            FROM pg_catalog.pg_attribute a
            LEFT JOIN pg_catalog.pg_description pgd ON (
                pgd.objoid = a.attrelid AND pgd.objsubid = a.attnum)
            WHERE a.attrelid = {oid}
            AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 0
SELECT t.typname as "name",
               pg_catalog.format_type(t.typbasetype, t.typtypmod) as "attype",
               not t.typnotnull as "nullable",
               t.typdefault as "default",
               pg_catalog.pg_type_is_visible(t.oid) as "visible",
               n.nspname as "schema"
            FROM pg_catalog.pg_type t
               LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
            WHERE t.typtype = 'd'
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 0
SELECT t.typname as "name",
               -- no enum defaults in 8.4 at least
               -- t.typdefault as "default",
               pg_catalog.pg_type_is_visible(t.oid) as "visible",
               n.nspname as "schema",
               e.enumlabel as "label"
            FROM pg_catalog.pg_type t
                 LEFT JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                 LEFT JOIN pg_catalog.pg_enum e ON t.oid = e.enumtypid
            WHERE t.typtype = 'e'
        ORDER BY "schema", "name", e.oid
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 0
SELECT a.attname
                FROM pg_attribute a JOIN (
                    SELECT unnest(ix.indkey) attnum,
                           generate_subscripts(ix.indkey, 1) ord
                    FROM pg_index ix
                    WHERE ix.indrelid = {oid} AND ix.indisprimary
                    ) k ON a.attnum=k.attnum
                WHERE a.attrelid = {oid}
                ORDER BY k.ord
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 0
SELECT conname
           FROM  pg_catalog.pg_constraint r
           WHERE r.conrelid = {oid} AND r.contype = 'p'
           ORDER BY 1
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 0
SELECT r.conname,
                pg_catalog.pg_get_constraintdef(r.oid, true) as condef,
                n.nspname as conschema
          FROM  pg_catalog.pg_constraint r,
                pg_namespace n,
                pg_class c

          WHERE r.conrelid = {oid} AND
                r.contype = 'f' AND
                c.oid = confrelid AND
                n.oid = c.relnamespace
          ORDER BY 1
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 0
SELECT
                  i.relname as relname,
                  ix.indisunique, ix.indexprs,
                  a.attname, a.attnum, c.conrelid, ix.indkey::varchar,
                  ix.indoption::varchar, i.reloptions, am.amname,
                  pg_get_expr(ix.indpred, ix.indrelid),
                  ix.indnkeyatts as indnkeyatts
              FROM
                  pg_class t
                        join pg_index ix on t.oid = ix.indrelid
                        join pg_class i on i.oid = ix.indexrelid
                        left outer join
                            pg_attribute a
                            on t.oid = a.attrelid and a.attnum = ANY(ix.indkey)
                        left outer join
                            pg_constraint c
                            on (ix.indrelid = c.conrelid and
                                ix.indexrelid = c.conindid and
                                c.contype in ('p', 'u', 'x'))
                        left outer join
                            pg_am am
                            on i.relam = am.oid
              WHERE
                  t.relkind IN ('r', 'v', 'f', 'm', 'p')
                  and t.oid = {oid}
                  and ix.indisprimary = 'f'
              ORDER BY
                  t.relname,
                  i.relname
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 0
SELECT
                cons.conname as name,
                cons.conkey as key,
                a.attnum as col_num,
                a.attname as col_name
            FROM
                pg_catalog.pg_constraint cons
                join pg_attribute a
                  on cons.conrelid = a.attrelid AND
                    a.attnum = ANY(cons.conkey)
            WHERE
                cons.conrelid = {oid} AND
                cons.contype = 'u'
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 0
SELECT
                cons.conname as name,
                pg_get_constraintdef(cons.oid) as src
            FROM
                pg_catalog.pg_constraint cons
            WHERE
                cons.conrelid = {oid} AND
                cons.contype = 'c'
-- next
-- source: SQLAlchemy 1.4.46 postgresql dialect + psycopg2 2.9.5 (logged by PostgreSQL 15 with log_statement=all)
-- expect-count: 0
SELECT
                pgd.description as table_comment
            FROM
                pg_catalog.pg_description pgd
            WHERE
                pgd.objsubid = 0 AND
                pgd.objoid = {oid}
-- next
-- source: SQLAlchemy 1.4.46 get_pk_constraint (the query above) of pgcat_pk, an upsert table: its primaryKeyColumns in key order
-- expect-rows: [["id"], ["region"]]
SELECT a.attname
                FROM pg_attribute a JOIN (
                    SELECT unnest(ix.indkey) attnum,
                           generate_subscripts(ix.indkey, 1) ord
                    FROM pg_index ix
                    WHERE ix.indrelid = {pk_oid} AND ix.indisprimary
                    ) k ON a.attnum=k.attnum
                WHERE a.attrelid = {pk_oid}
                ORDER BY k.ord
-- next
-- source: SQLAlchemy 1.4.46 get_pk_constraint (the constraint's name) of pgcat_pk
-- expect-rows: [["pgcat_pk_pkey"]]
SELECT conname
           FROM  pg_catalog.pg_constraint r
           WHERE r.conrelid = {pk_oid} AND r.contype = 'p'
           ORDER BY 1
-- next
-- source: SQLAlchemy 1.4.46 get_indexes (the query above) of pgcat_pk: the primary key's index is not listed
-- expect-count: 0
SELECT
                  i.relname as relname,
                  ix.indisunique, ix.indexprs,
                  a.attname, a.attnum, c.conrelid, ix.indkey::varchar,
                  ix.indoption::varchar, i.reloptions, am.amname,
                  pg_get_expr(ix.indpred, ix.indrelid),
                  ix.indnkeyatts as indnkeyatts
              FROM
                  pg_class t
                        join pg_index ix on t.oid = ix.indrelid
                        join pg_class i on i.oid = ix.indexrelid
                        left outer join
                            pg_attribute a
                            on t.oid = a.attrelid and a.attnum = ANY(ix.indkey)
                        left outer join
                            pg_constraint c
                            on (ix.indrelid = c.conrelid and
                                ix.indexrelid = c.conindid and
                                c.contype in ('p', 'u', 'x'))
                        left outer join
                            pg_am am
                            on i.relam = am.oid
              WHERE
                  t.relkind IN ('r', 'v', 'f', 'm', 'p')
                  and t.oid = {pk_oid}
                  and ix.indisprimary = 'f'
              ORDER BY
                  t.relname,
                  i.relname
