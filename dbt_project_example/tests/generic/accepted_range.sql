{#- Same signature as dbt_utils.accepted_range, defined here because `dbt deps` cannot reach the hub.
    Rows outside [min_value, max_value] fail; NULLs pass (not_null is a separate test). -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
select *
from (select {{ column_name }} as tested_value from {{ model }}) as candidates
where 1 = 2
  {%- if min_value is not none %}
  or not (tested_value {{ ">=" if inclusive else ">" }} {{ min_value }})
  {%- endif %}
  {%- if max_value is not none %}
  or not (tested_value {{ "<=" if inclusive else "<" }} {{ max_value }})
  {%- endif %}
{% endtest %}
