select
    order_id,
    customer_id,
    sales_rep_id as employee_id,
    cast(ordered_at as date) as order_date,
    status as order_status
from {{ source('shop', 'orders') }}
