with orders as (
    select
        customer_id,
        count(*) as order_count,
        min(order_date) as first_order_date,
        sum(case when order_status = 'cancelled' then 0 else order_amount end) as lifetime_value
    from {{ ref('fct_orders') }}
    group by customer_id
)

select
    c.customer_id,
    c.customer_name,
    c.email,
    c.country_code,
    c.customer_segment,
    c.signed_up_on,
    coalesce(o.order_count, 0) as order_count,
    o.first_order_date,
    coalesce(o.lifetime_value, 0) as lifetime_value
from {{ ref('stg_customers') }} as c
left join orders as o on o.customer_id = c.customer_id
