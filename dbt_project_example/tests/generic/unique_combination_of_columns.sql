{#- Same signature as dbt_utils.unique_combination_of_columns: a composite key holds no duplicate. -#}
{% test unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
{%- set columns = [] -%}
{%- for col in combination_of_columns -%}
  {%- do columns.append(adapter.quote(col) if quote_columns else col) -%}
{%- endfor -%}
{%- set column_list = columns | join(", ") -%}
select {{ column_list }}, count(*) as duplicate_rows
from {{ model }}
group by {{ column_list }}
having count(*) > 1
{% endtest %}
