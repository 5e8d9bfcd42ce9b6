select
    customer_id,
    first_name || ' ' || last_name as customer_name,
    lower(email) as email,
    upper(country_code) as country_code,
    segment as customer_segment,
    cast(signed_up_on as date) as signed_up_on
from {{ source('shop', 'customers') }}
