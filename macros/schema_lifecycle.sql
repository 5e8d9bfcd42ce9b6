{#-
  Create or drop a schema for synthetic data from `dbt run-operation`, refusing anything that could hold
  real data: a name outside [A-Za-z_][A-Za-z0-9_]* (max 63), the project's target schema, and any schema
  holding the project's sources, seeds, models or snapshots.

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


{% macro synthohive_drop_schema(schema) %}
  {%- if execute -%}
    {%- do synthohive_check_schema(schema) -%}
    {%- do adapter.drop_schema(api.Relation.create(database=target.database, schema=schema)) -%}
    {%- do log("synthohive: schema " ~ schema ~ " dropped", info=True) -%}
  {%- endif -%}
{% endmacro %}
