select
    payment_id,
    order_id,
    payment_method,
    cast(amount as numeric(12, 2)) as payment_amount,
    cast(paid_at as date) as paid_on
from {{ source('shop', 'payments') }}
