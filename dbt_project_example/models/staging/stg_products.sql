select
    product_id,
    sku,
    product_name,
    category as product_category,
    cast(list_price as numeric(10, 2)) as list_price,
    is_active
from {{ source('shop', 'products') }}
