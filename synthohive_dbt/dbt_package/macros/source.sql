{#-
  synthohive.source(source_name, table_name): dbt's source(), redirected to the synthetic schema when the
  var `synthohive_schema` is set (`dbt build --vars '{synthohive_schema: synthetic}'`).

  builtins.source() is always called first, so parsing, lineage and `dbt docs` see the real source; only the
  schema of the returned relation changes (same database, same identifier). Tests on sources go through
  source() too, so they also run against the synthetic tables.

  To switch it on, the root project adds this three-line override (a package cannot override a builtin):

    {% macro source(source_name, table_name) %}
      {{ return(synthohive.source(source_name, table_name)) }}
    {% endmacro %}
-#}
{% macro source(source_name, table_name) %}
  {%- set relation = builtins.source(source_name, table_name) -%}
  {%- set synthetic_schema = var('synthohive_schema', none) -%}
  {%- if synthetic_schema -%}
    {{ return(relation.incorporate(path={"schema": synthetic_schema})) }}
  {%- endif -%}
  {{ return(relation) }}
{% endmacro %}
