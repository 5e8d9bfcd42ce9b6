select
    order_id,
    line_number,
    product_id,
    quantity,
    cast(unit_price as numeric(10, 2)) as unit_price,
    cast(discount_pct as numeric(4, 2)) as discount_pct,
    cast(quantity * unit_price * (1 - discount_pct) as numeric(12, 2)) as line_amount
from {{ source('shop', 'order_items') }}
