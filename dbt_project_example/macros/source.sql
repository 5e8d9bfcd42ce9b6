{#- Send every source() to the synthetic schema when var('synthohive_schema') is set (see the package). -#}
{% macro source(source_name, table_name) %}
  {{ return(synthohive.source(source_name, table_name)) }}
{% endmacro %}
