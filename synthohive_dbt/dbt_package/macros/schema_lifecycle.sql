{#-
  Create or drop a schema for synthetic data from `dbt run-operation`, refusing anything that could hold
  real data: a name outside [A-Za-z_][A-Za-z0-9_]* (max 63), the project's target schema, and any schema
  holding the project's sources, seeds, models or snapshots. Dropping also refuses a schema that holds any
  relation synthohive did not record in its marker table `_synthohive_owned`, or whose relations are read by
  views in other schemas (the drop would cascade into them); it lists them all.

    dbt run-operation synthohive_create_schema --args '{schema: synthetic}'
    dbt run-operation synthohive_drop_schema --args '{schema: synthetic}'
-#}
{% macro synthohive_check_schema(schema) %}
  {%- if schema is none or schema is not string or not modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', schema)
        or schema | length > 63 -%}
    {{ exceptions.raise_compiler_error(
        "synthohive: schema name '" ~ schema ~ "' is not allowed: use letters, digits and '_' (not first), "
        ~ "at most 63 characters, e.g. 'synthetic'") }}
  {%- endif -%}
  {%- set wanted = schema | lower -%}
  {%- if wanted == (target.schema | lower) -%}
    {{ exceptions.raise_compiler_error(
        "synthohive: refusing schema '" ~ schema ~ "': it is this project's target schema (target '"
        ~ target.name ~ "'); choose a dedicated schema such as 'synthetic'") }}
  {%- endif -%}
  {%- set real = [] -%}
  {%- for node in graph.sources.values() -%}
    {%- if (node.schema | lower) == wanted -%}
      {%- do real.append("source " ~ node.source_name ~ "." ~ node.name) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- for node in graph.nodes.values() -%}
    {%- if node.resource_type in ['model', 'seed', 'snapshot'] and (node.schema | lower) == wanted
          and node.config.get('materialized') != 'ephemeral' -%}
      {%- do real.append(node.resource_type ~ " " ~ node.name) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if real -%}
    {{ exceptions.raise_compiler_error(
        "synthohive: refusing schema '" ~ schema ~ "': it holds this project's real relations ("
        ~ (real | sort | join(', ')) ~ "); choose a dedicated schema such as 'synthetic'") }}
  {%- endif -%}
{% endmacro %}


{% macro synthohive_create_schema(schema) %}
  {%- if execute -%}
    {%- do synthohive_check_schema(schema) -%}
    {%- do adapter.create_schema(api.Relation.create(database=target.database, schema=schema)) -%}
    {%- do log("synthohive: schema " ~ schema ~ " is ready", info=True) -%}
  {%- endif -%}
{% endmacro %}


{% macro synthohive_check_owned(schema) %}
  {%- set present = list_relations_without_caching(
        api.Relation.create(database=target.database, schema=schema)) -%}
  {%- set names = [] -%}
  {%- for row in present.rows -%}{%- do names.append(row['name']) -%}{%- endfor -%}
  {%- set owned = [] -%}
  {%- if '_synthohive_owned' in (names | map('lower') | list) -%}
    {%- set marker = api.Relation.create(database=target.database, schema=schema, identifier='_synthohive_owned') -%}
    {%- for row in run_query('select relation_name from ' ~ marker).rows -%}
      {%- do owned.append(row[0] | lower) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- set foreign = [] -%}
  {%- for name in names -%}
    {%- if (name | lower) != '_synthohive_owned' and (name | lower) not in owned -%}
      {%- do foreign.append(schema ~ "." ~ name) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set readers = [] -%}
  {%- if target.type in ['postgres', 'redshift'] and names -%}
    {%- set sql -%}
      select distinct dn.nspname || '.' || dc.relname || ' (reads ' || sc.relname || ')'
      from pg_depend d join pg_rewrite r on r.oid = d.objid join pg_class dc on dc.oid = r.ev_class
      join pg_namespace dn on dn.oid = dc.relnamespace join pg_class sc on sc.oid = d.refobjid
      join pg_namespace sn on sn.oid = sc.relnamespace
      where d.classid = 'pg_rewrite'::regclass and sn.nspname = '{{ schema }}' and dn.nspname <> '{{ schema }}'
    {%- endset -%}
    {%- for row in run_query(sql).rows -%}{%- do readers.append(row[0]) -%}{%- endfor -%}
  {%- elif target.type == 'duckdb' and names -%}
    {%- set sql -%}
      select schema_name || '.' || view_name from duckdb_views()
      where not internal and lower(schema_name) <> lower('{{ schema }}')
        and position(lower('{{ schema }}.') in lower(sql)) > 0
    {%- endset -%}
    {%- for row in run_query(sql).rows -%}{%- do readers.append(row[0]) -%}{%- endfor -%}
  {%- endif -%}
  {%- if foreign or readers -%}
    {{ exceptions.raise_compiler_error(
        "synthohive: refusing to drop schema '" ~ schema ~ "': "
        ~ ("it holds relations synthohive did not write (" ~ (foreign | sort | join(', ')) ~ ")" if foreign else "")
        ~ ("; " if foreign and readers else "")
        ~ ("views in other schemas read it (" ~ (readers | sort | join(', ')) ~ ")" if readers else "")
        ~ "; nothing was dropped. Move or drop those yourself first") }}
  {%- endif -%}
{% endmacro %}


{% macro synthohive_drop_schema(schema) %}
  {%- if execute -%}
    {%- do synthohive_check_schema(schema) -%}
    {%- do synthohive_check_owned(schema) -%}
    {%- do adapter.drop_schema(api.Relation.create(database=target.database, schema=schema)) -%}
    {%- do log("synthohive: schema " ~ schema ~ " dropped", info=True) -%}
  {%- endif -%}
{% endmacro %}
