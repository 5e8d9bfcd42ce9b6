with lines as (
    select order_id, count(*) as line_count, sum(line_amount) as order_amount
    from {{ ref('stg_order_items') }}
    group by order_id
),

paid as (
    select order_id, sum(payment_amount) as paid_amount
    from {{ ref('stg_payments') }}
    group by order_id
)

select
    o.order_id,
    o.customer_id,
    o.employee_id,
    o.order_date,
    o.order_status,
    coalesce(l.line_count, 0) as line_count,
    coalesce(l.order_amount, 0) as order_amount,
    coalesce(p.paid_amount, 0) as paid_amount
from {{ ref('stg_orders') }} as o
left join lines as l on l.order_id = o.order_id
left join paid as p on p.order_id = o.order_id
