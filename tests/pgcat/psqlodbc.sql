-- Queries of psqlODBC (the PostgreSQL ODBC driver: what Tableau's and
-- Power BI's PostgreSQL ODBC connections send), from its info.c
-- (PGAPI_Tables, PGAPI_Columns, PGAPI_PrimaryKeys, PGAPI_ForeignKeys), as
-- recorded from Tableau by GigaSpaces' OdbcMetadataQueryTest
-- (com.gigaspaces.sql.aggregatornode.netty.server) and from Power BI by
-- YottaDB Octo's TPBI001 test; the table and schema names are ours.
-- Connection setup (SET DateStyle = 'ISO', SET extra_float_digits = 2)
-- is plain SETs: the wire server answers those.
-- Format: tests/pgcat/README.md.

-- source: psqlODBC connection setup (CC_lookup_lo, Tableau via GigaSpaces' OdbcMetadataQueryTest)
-- expect-count: 0
select oid, typbasetype from pg_type where typname = 'lo';
-- next
-- source: psqlODBC connection setup (CC_lookup_characterset / max identifier length)
-- expect-rows: [["63"]]
show max_identifier_length;
-- next
-- source: psqlODBC connection setup (transaction isolation)
-- expect-rows: [["read committed"]]
show transaction_isolation;
-- next
-- source: psqlODBC, Tableau's datasource dialog (GigaSpaces' OdbcMetadataQueryTest)
-- expect-rows: [[null, null, null]]
select NULL, NULL, NULL
-- next
-- source: psqlODBC info.c PGAPI_Tables (SQLTables; Tableau, Power BI)
-- expect-contains: ["pgcat_all", "public", "r"]
-- expect-contains: ["pgcat_pk", "public", "r"]
select relname, nspname, relkind from pg_catalog.pg_class c, pg_catalog.pg_namespace n where relkind in ('r', 'v', 'm', 'f', 'p') and nspname not in ('pg_catalog', 'information_schema', 'pg_toast', 'pg_temp_1') and n.oid = relnamespace order by nspname, relname
-- next
-- source: psqlODBC info.c PGAPI_Columns (SQLColumns; Tableau, Power BI)
-- expect-count: 4
-- expect-contains: ["public", "pgcat_pk", "region", 25, "text", 1, -1, -1, true, false, "r"]
-- expect-contains: ["public", "pgcat_pk", "status", 25, "text", 3, -1, -1, false, false, "r"]
select n.nspname, c.relname, a.attname, a.atttypid, t.typname, a.attnum, a.attlen, a.atttypmod, a.attnotnull, c.relhasrules, c.relkind, c.oid, pg_get_expr(d.adbin, d.adrelid), case t.typtype when 'd' then t.typbasetype else 0 end, t.typtypmod, c.relhasoids, '', c.relhassubclass from (((pg_catalog.pg_class c inner join pg_catalog.pg_namespace n on n.oid = c.relnamespace and c.relname like E'pgcat_pk' and n.nspname like E'public') inner join pg_catalog.pg_attribute a on (not a.attisdropped) and a.attnum > 0 and a.attrelid = c.oid) inner join pg_catalog.pg_type t on t.oid = a.atttypid) left outer join pg_attrdef d on a.atthasdef and d.adrelid = a.attrelid and d.adnum = a.attnum order by n.nspname, c.relname, attnum
-- next
-- source: psqlODBC info.c PGAPI_PrimaryKeys (SQLPrimaryKeys; int2vector indkey subscripts from 0)
-- expect-rows: [["id", 1, "pgcat_pk_pkey", "public", "pgcat_pk"], ["region", 2, "pgcat_pk_pkey", "public", "pgcat_pk"]]
select ta.attname, ia.attnum, ic.relname, n.nspname, tc.relname from pg_catalog.pg_attribute ta, pg_catalog.pg_attribute ia, pg_catalog.pg_class tc, pg_catalog.pg_index i, pg_catalog.pg_namespace n, pg_catalog.pg_class ic where tc.relname = E'pgcat_pk' AND n.nspname = E'public' AND tc.oid = i.indrelid AND n.oid = tc.relnamespace AND i.indisprimary = 't' AND ia.attrelid = i.indexrelid AND ta.attrelid = i.indrelid AND ta.attnum = i.indkey[ia.attnum-1] AND (NOT ta.attisdropped) AND (NOT ia.attisdropped) AND ic.oid = i.indexrelid order by ia.attnum
-- next
-- source: psqlODBC info.c PGAPI_PrimaryKeys of a table without a key
-- expect-count: 0
select ta.attname, ia.attnum, ic.relname, n.nspname, tc.relname from pg_catalog.pg_attribute ta, pg_catalog.pg_attribute ia, pg_catalog.pg_class tc, pg_catalog.pg_index i, pg_catalog.pg_namespace n, pg_catalog.pg_class ic where tc.relname = E'pgcat_all' AND n.nspname = E'public' AND tc.oid = i.indrelid AND n.oid = tc.relnamespace AND i.indisprimary = 't' AND ia.attrelid = i.indexrelid AND ta.attrelid = i.indrelid AND ta.attnum = i.indkey[ia.attnum-1] AND (NOT ta.attisdropped) AND (NOT ia.attisdropped) AND ic.oid = i.indexrelid order by ia.attnum
-- next
-- source: psqlODBC info.c PGAPI_ForeignKeys (SQLForeignKeys; generate_series over conkey's bounds in the select list)
-- expect-count: 0
-- expect-columns: ["PKTABLE_CAT", "PKTABLE_SCHEM", "PKTABLE_NAME", "PKCOLUMN_NAME", "FKTABLE_CAT", "FKTABLE_SCHEM", "FKTABLE_NAME", "FKCOLUMN_NAME", "KEY_SEQ", "UPDATE_RULE", "DELETE_RULE", "FK_NAME", "PK_NAME", "DEFERRABILITY"]
select	'waybill'::name as "PKTABLE_CAT",
	n2.nspname as "PKTABLE_SCHEM",
	c2.relname as "PKTABLE_NAME",
	a2.attname as "PKCOLUMN_NAME",
	'waybill'::name as "FKTABLE_CAT",
	n1.nspname as "FKTABLE_SCHEM",
	c1.relname as "FKTABLE_NAME",
	a1.attname as "FKCOLUMN_NAME",
	i::int2 as "KEY_SEQ",
	case ref.confupdtype
		when 'c' then 0::int2
		when 'n' then 2::int2
		when 'd' then 4::int2
		when 'r' then 1::int2
		else 3::int2
	end as "UPDATE_RULE",
	case ref.confdeltype
		when 'c' then 0::int2
		when 'n' then 2::int2
		when 'd' then 4::int2
		when 'r' then 1::int2
		else 3::int2
	end as "DELETE_RULE",
	ref.conname as "FK_NAME",
	cn.conname as "PK_NAME",
	case
		when ref.condeferrable then
			case
			when ref.condeferred then 5::int2
			else 6::int2
			end
		else 7::int2
	end as "DEFERRABILITY"
 from
 ((((((( (select cn.oid, conrelid, conkey, confrelid, confkey,
	 generate_series(array_lower(conkey, 1), array_upper(conkey, 1)) as i,
	 confupdtype, confdeltype, conname,
	 condeferrable, condeferred
  from pg_catalog.pg_constraint cn,
	pg_catalog.pg_class c,
	pg_catalog.pg_namespace n
  where contype = 'f'
   and  conrelid = c.oid
   and  relname = E'pgcat_pk'
   and  n.oid = c.relnamespace
   and  n.nspname = E'public'
 ) ref
 inner join pg_catalog.pg_class c1
  on c1.oid = ref.conrelid)
 inner join pg_catalog.pg_namespace n1
  on  n1.oid = c1.relnamespace)
 inner join pg_catalog.pg_attribute a1
  on  a1.attrelid = c1.oid
  and  a1.attnum = conkey[i])
 inner join pg_catalog.pg_class c2
  on  c2.oid = ref.confrelid)
 inner join pg_catalog.pg_namespace n2
  on  n2.oid = c2.relnamespace)
 inner join pg_catalog.pg_attribute a2
  on  a2.attrelid = c2.oid
  and  a2.attnum = confkey[i])
 left outer join pg_catalog.pg_constraint cn
  on cn.conrelid = ref.confrelid
  and cn.contype = 'p')
  order by ref.oid, ref.i
